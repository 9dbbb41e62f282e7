import ServiceLifecycle

/// Everything the daemon records and reads back: jobs and their logs, the
/// journal the streams replay, the artifact index, each job's changes, users
/// and what the curator knows. The seam between the pipeline and a database:
/// ``SQLiteStore`` is the embedded one.
///
/// A conformer has one writer: every write below goes through it in the order
/// it was asked for, and the events a write journals are published only once
/// they are committed (nothing is ever shown that is not stored). Writes answer
/// once durable, or throw (a full disk: nothing of that write was stored).
/// Reads never wait for the writer. Running the store (``Service/run()``) is
/// running its writer; a graceful shutdown flushes everything accepted.
protocol Store: Service, Sendable {
    // MARK: - Setup, before the store runs

    /// Makes the first admin if there is no admin yet, and returns its new
    /// token (nil when there was one already).
    func ensureAdmin(email: String, credits: Int64) async throws -> String?

    /// Why writes are failing right now (a full disk), if they are.
    var writeProblem: String? { get }

    // MARK: - Intake

    /// A new pending job for a request, or the ``Rejection`` the database's
    /// state calls for (an unknown user, no credits, someone else's project).
    /// The same spool file (name and inode, not yet filed) claimed twice makes one job.
    func claim(_ request: JobRequest, defaultUser: String?, spoolName: String?, spoolInode: UInt64?) async throws -> Int64
    /// Claims job files in one write, each as ``claim(_:defaultUser:spoolName:spoolInode:)`` would:
    /// a job, or the rejection the database's state calls for.
    func claimFiles(_ files: [SpoolClaim], defaultUser: String?) async throws -> [Result<Int64, Rejection>]
    /// The jobs' spool files were moved to `accepted/`.
    func markFiled(jobs: [Int64]) async throws
    /// Jobs whose row was committed but whose file may still sit in `incoming/`.
    func unfiledClaims() async throws -> [(job: Int64, name: String, inode: UInt64)]
    /// Says on the `logs` stream that a spool file was rejected.
    func recordRejection(of name: String, reason: String) async throws

    // MARK: - Execution

    /// Moves a pending job to in progress; nil if it is no longer pending.
    func start(job: Int64) async throws -> Job?
    /// The executor's turn: starts the oldest pending jobs that may start now,
    /// `slots` at most, one a project and none of a project in `busy`.
    func startPending(slots: Int, busy: Set<String>) async throws -> [Job]
    /// The process group of the job's agent, for a later start to find what it left.
    func recordAgent(job: Int64, processGroup: Int32) async throws
    func setPhase(job: Int64, _ phase: Phase) async throws
    /// Ends a job: its cause in its own log first, then the status.
    func finish(job: Int64, status: JobStatus, reason: String?, exitCode: Int32?) async throws
    /// Cancels a job that has not started; false if it is not pending.
    func cancelPending(job: Int64) async throws -> Bool
    /// Jobs left in progress by a daemon that died, with their agents' process groups.
    func leftovers() async throws -> [(job: Int64, pgid: Int32?)]
    /// Adds what the agent CLI said it used to the job, records its session the
    /// first time it is told, and takes the cost from its user's budget: true when that is spent.
    func recordUsage(job: Int64, sessionID: String?, usage: AgentUsage) async throws -> Bool

    // MARK: - Logs

    /// Queues an agent's log lines; suspends while the writer is too far behind,
    /// which holds the agent's pipe (memory stays bounded and no line is dropped).
    func append(_ rows: [LogRow]) async
    /// A line of the daemon's own in a job's log.
    func note(job: Int64, _ line: String, level: Level) async throws
    /// A line on the `logs` stream, of the daemon or about a job.
    func announce(_ text: String, level: Level, job: Int64?) async throws

    // MARK: - Artifacts

    /// Applies what the index saw on disk, charging written files to the jobs
    /// running in their projects, and says `notes` on the `logs` stream, in one
    /// transaction. `progressDue` picks, among the jobs touched, those whose
    /// progress event is due. Returns the jobs touched.
    func recordArtifacts(_ changes: [ArtifactChange], running: [String: Int64], notes: [(text: String, level: Level)],
                         progressDue: @escaping @Sendable (Set<Int64>) -> [Int64]) async throws -> Set<Int64>
    /// The index as stored, by project and path: what a rescan reconciles with the disk.
    func artifactSnapshot() async throws -> [String: [String: (size: Int64, modified: String)]]

    // MARK: - Changes

    /// Records the snapshot a job's changes are measured against.
    func beginChanges(job: Int64, tree: String) async throws
    /// Replaces the job's changes with a newer measurement (unless `isNewest`,
    /// asked inside the transaction, says a later one was recorded) and charges
    /// its user the lines added since the last. The final measurement keeps
    /// the job's `patch` too. True when the user ran out of credits.
    func recordChanges(job: Int64, tree: String, _ changes: [FileChange], patch: String?,
                       isNewest: @escaping @Sendable () -> Bool) async throws -> Bool

    // MARK: - Insights and knowledge

    func recordInsights(_ insights: [Insight]) async throws
    /// Sets the curator's facts about a project; each one that changed is journaled.
    func learn(_ facts: [(key: String, value: String)], about project: String, job: Int64?) async throws

    // MARK: - Users

    /// A new user and its token (shown once, stored as a hash).
    func createUser(email: String, role: Role, credits: Int64) async throws -> (User, String)
    /// Sets a user's credits (and the figure low-credit warnings compare with); nil if no such user.
    func setCredits(user: Int64, to credits: Int64) async throws -> User?
    /// Sets what a user's agents may still cost (nil: no budget); nil if no such user.
    func setBudget(user: Int64, to budget: Double?) async throws -> User?
    /// A new token for the user, the old one refused from now on; nil if no such user.
    func replaceToken(user: Int64) async throws -> (User, String)?
    /// Deletes a user; their token stops working at once. False if no such user.
    func deleteUser(_ user: Int64) async throws -> Bool

    // MARK: - Webhooks

    /// Pending deliveries whose next attempt is due, oldest first.
    func dueDeliveries(limit: Int) async throws -> [WebhookDelivery]
    /// When the next pending delivery is due, if one waits.
    func nextDeliveryAttempt() async throws -> String?
    func recordDelivery(_ delivery: Int64, _ outcome: DeliveryOutcome) async throws
    /// The newest deliveries, of every status.
    func deliveries(limit: Int) async throws -> [WebhookDelivery]

    // MARK: - Keeping it small

    /// Deletes up to `limit` log lines and journal rows of jobs that ended
    /// before `cutoff`, the daemon's own journal rows and the webhook
    /// deliveries done with older than it; answers how many. Jobs, their
    /// changes, the artifact index and knowledge stay.
    func prune(before cutoff: String, limit: Int) async throws -> Int
    /// The database's size, in bytes.
    func sizeInBytes() async throws -> Int64
    /// The node answering and how many nodes share the database; nil for a store of one machine.
    func cluster() async throws -> Cluster?

    // MARK: - Reading jobs

    func job(_ id: Int64) async throws -> Job?
    /// Jobs newest first, `limit` at most, older than `before` when given: their
    /// state without their specifications (read per job, ``job(_:)``).
    func jobs(status: JobStatus?, project: String?, userID: Int64?, before: Int64?, limit: Int) async throws -> [Job]
    /// Pending jobs that may start now, with their projects, oldest first: the executor's queue.
    func pendingJobs(limit: Int) async throws -> [(id: Int64, project: String)]
    /// When the next pending job that waits (a retry's `run_after`) may start, if one waits.
    func nextScheduledStart() async throws -> String?
    /// How many retries came before `job` (0 for a first attempt).
    func retries(before job: Int64) async throws -> Int
    /// What each user's jobs' agents said they used, by user id.
    func usageByUser() async throws -> [Int64: AgentUsage]
    func jobCountsByStatus() async throws -> [JobStatus: Int64]
    /// The job running in a project now, if any.
    func runningJob(project: String) async throws -> Int64?
    func logs(job: Int64, after: Int64, limit: Int) async throws -> [LogEntry]
    /// The last line the job's agent said was an error, else its last line on stderr.
    func lastErrorLine(job: Int64) async throws -> String?
    /// How long the most recent finished jobs ran, in seconds, newest first.
    func recentDurations(limit: Int) async throws -> [Double]

    // MARK: - Reading the journal

    /// Journal rows after `after`, of the given streams, oldest first; a
    /// `userID` limits them to that user's jobs.
    func streamEvents(_ streams: [StreamName], after: Int64, userID: Int64?, limit: Int) async throws -> [Event]
    /// The id after which only the last `count` rows of these streams follow
    /// (0 when there are fewer): where a replay of just the recent past starts.
    func journalTail(_ streams: [StreamName], count: Int, userID: Int64?) async throws -> Int64
    /// Insights, newest first; of one job, and of `userID`'s jobs only unless nil (an admin).
    func insights(job: Int64?, userID: Int64?, limit: Int) async throws -> [Event]

    // MARK: - Reading projects, artifacts and changes

    func projects(userID: Int64?) async throws -> [Project]
    func artifacts(type: FileFacts.Kind?, project: String?, job: Int64?, userID: Int64?, limit: Int) async throws -> [Artifact]
    func artifact(_ id: Int64, userID: Int64?) async throws -> Artifact?
    func indexedFiles(project: String) async throws -> [IndexedFile]
    /// What a job changed, file by file.
    func changes(job: Int64) async throws -> [FileChange]
    /// The unified diff of an ended job, as its final measurement kept it.
    func patch(job: Int64) async throws -> String?
    /// The snapshots a job's changes are measured between, once it has started.
    func trees(job: Int64) async throws -> (start: String, end: String)?
    /// Files of `job`'s changes that a later job of the same project changed too.
    func laterChanges(to job: Int64) async throws -> [(job: Int64, path: String)]
    /// The project's facts, if `userID` (nil for an admin) may see the project.
    func knowledge(project: String, userID: Int64?) async throws -> [Fact]?

    // MARK: - Reading users

    func user(email: String) async throws -> User?
    func user(tokenHash: String) async throws -> User?
    /// Users not deleted, by id.
    func users() async throws -> [User]
    /// A user's line credits now and what they were last given.
    func credits(of email: String) async throws -> (left: Int64, given: Int64)?
}

/// The usual limits of the reads, so callers name only what they filter by.
extension Store {
    /// A read, then a write a job: where another node may start the same jobs,
    /// each start is its own transaction. A refusal after the first start ends
    /// the turn with the jobs started (their ends wake the executor again).
    func startPending(slots: Int, busy: Set<String>) async throws -> [Job] {
        var started: [Job] = []
        var busy = busy
        for next in try await pendingJobs(limit: 1000) where started.count < slots && !busy.contains(next.project) {
            let job: Job?
            do {
                job = try await start(job: next.id)
            } catch where !started.isEmpty {
                break
            }
            guard let job else { continue }
            started.append(job)
            busy.insert(job.project)
        }
        return started
    }

    func jobs(status: JobStatus? = nil, project: String? = nil, userID: Int64? = nil, limit: Int = 500) async throws -> [Job] {
        try await jobs(status: status, project: project, userID: userID, before: nil, limit: limit)
    }

    func logs(job: Int64, limit: Int = 1000) async throws -> [LogEntry] {
        try await logs(job: job, after: 0, limit: limit)
    }

    func artifacts(type: FileFacts.Kind?, project: String?, job: Int64?, userID: Int64?) async throws -> [Artifact] {
        try await artifacts(type: type, project: project, job: job, userID: userID, limit: 5000)
    }

    func insights(job: Int64?, userID: Int64?) async throws -> [Event] {
        try await insights(job: job, userID: userID, limit: 500)
    }

    func recentDurations() async throws -> [Double] {
        try await recentDurations(limit: 10)
    }

    /// A job's log lines after `after`, oldest first, as events.
    func logEvents(job: Int64, after: Int64, limit: Int) async throws -> [Event] {
        try await logs(job: job, after: after, limit: limit).map {
            Event(id: $0.id, stream: .jobLog, jobID: job, level: $0.level, text: $0.message, timestamp: $0.timestamp, source: $0.source.rawValue)
        }
    }
}
