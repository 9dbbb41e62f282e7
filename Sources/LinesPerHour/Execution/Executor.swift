import Foundation
import Glibc
import Logging
import ServiceLifecycle

/// Runs pending jobs in submission order, at most `maxJobs` at once.
///
/// It is woken (never polls) when a job is accepted and when one ends, and
/// then starts as many of the oldest pending jobs as there are free slots.
/// A job's lines, phase changes and end all go through the store's one writer in the
/// order they happened, so a job's status changes only after its last line
/// is committed.
final class Executor: Service, Sendable {
    /// What the daemon's settings say of running agents.
    struct Policy: Sendable {
        var agents: AgentSettings
        var projectsDirectory: String
        var specsDirectory: String
        var maxJobs: Int
        var timeout: Duration?
        var grace: Duration
        var classifier: LineClassifier
        /// Retries of a job that failed for a transient cause (0: none), each after `retryDelay`.
        var retries = 0
        var retryDelay: Duration = .seconds(60)
    }

    private let settings: Policy
    private let store: any Store
    private let logger: Logger
    private let running: RunningJobs
    private let index: ArtifactIndex
    private let changes: ChangeTracker
    private let wakeups: AsyncStream<Void>
    private let wakeFeed: AsyncStream<Void>.Continuation
    /// The wake-up at the time the next waiting job may start.
    private let scheduledWake: WakeTimer

    init(policy: Policy, store: any Store, running: RunningJobs, index: ArtifactIndex, changes: ChangeTracker,
         logger: Logger) {
        self.settings = policy
        self.store = store
        self.running = running
        self.index = index
        self.changes = changes
        self.logger = logger
        let (wakeups, wakeFeed) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        (self.wakeups, self.wakeFeed) = (wakeups, wakeFeed)
        scheduledWake = WakeTimer { wakeFeed.yield() }
    }

    /// Asks the executor to look for pending jobs.
    func wake() {
        wakeFeed.yield()
    }

    /// The profile a job runs with: its own, or the daemon's default.
    func profile(of job: Job) -> AgentProfile {
        job.agent ?? settings.agents.profile
    }

    func run() async throws {
        try await failLeftovers()
        await withDiscardingTaskGroup { group in
            wake()
            for await _ in wakeups.cancelOnGracefulShutdown() {
                await startPending(in: &group)
            }
            for control in running.controls { control.stop(.shutdown) }
        }
    }

    // MARK: - Scheduling

    /// Starts the oldest pending jobs while slots are free, skipping those
    /// whose project already runs a job: a project's folder has one agent at a time.
    private func startPending(in group: inout DiscardingTaskGroup) async {
        let slots = settings.maxJobs - running.count
        guard slots > 0 else { return }
        let started: [Job]
        do {
            started = try await store.startPending(slots: slots, busy: running.projects)
        } catch {
            // The database refused (a full disk): the jobs stay pending and are tried again.
            logger.error("cannot start pending jobs, trying again shortly: \(error)")
            Task {
                try await Task.sleep(for: .seconds(1))
                wake()
            }
            return
        }
        for job in started {
            let control = AgentControl(grace: settings.grace)
            running.begin(project: job.project, job: job.id, control: control)
            group.addTask { await self.execute(job, control) }
        }
        await wakeForNextScheduledStart()
    }

    // MARK: - One job

    private func execute(_ job: Job, _ control: AgentControl) async {
        defer {
            running.end(project: job.project)
            wake()
        }
        let run = UUID().uuidString
        let output = OutputTracker(job: job.id, classifier: settings.classifier) { control.stop(.budgetSpent) }
        let end: AgentEnd
        do {
            end = try await runAgent(job, control, run: run, output: output)
        } catch {
            end = .couldNotStart("cannot prepare the job: \(error)")
        }
        await stopLeftovers(of: job.id, run: run)
        // Every file the agent wrote is indexed and counted before the status changes.
        await index.barrier(project: job.project)
        await changes.measure(job: job.id, project: job.project, final: true)
        let (status, reason, code) = judge(end, control.stopReason)
        if status == .failed { await retryIfTransient(job, reason: reason, stop: control.stopReason, lastComplaint: output.lastComplaint) }
        await recordEnd(of: job.id, status: status, reason: reason, exitCode: code)
    }

    // MARK: - Retries

    /// With `--retries`, a job that failed for a transient cause is retried
    /// by a new job that waits `retryDelay`; said in the failed job's log,
    /// before its end, so whoever follows its log reads it.
    private func retryIfTransient(_ job: Job, reason: String?, stop: StopReason?, lastComplaint: String? = nil) async {
        // A job already retried (a restart between the retry's claim and the job's end) is not retried again.
        guard settings.retries > 0, job.retriedBy == nil,
              let cause = TransientFailure.cause(reason: reason, stop: stop, lastError: lastComplaint) else { return }
        do {
            let earlier = try await store.retries(before: job.id)
            guard earlier < settings.retries else {
                return try await store.note(job: job.id, "not retried: retried \(earlier) times already (--retries \(settings.retries))",
                                            level: .warning)
            }
            let retry = try await store.claim(JobRequest(retrying: job, after: Timestamp.after(settings.retryDelay)), defaultUser: nil,
                                              spoolName: nil, spoolInode: nil)
            try await store.note(job: job.id, "failed for a cause that passes (\(cause)): retried as job \(retry) in \(settings.retryDelay)",
                                 level: .warning)
            wake()
        } catch {
            try? await store.note(job: job.id, "not retried: \(error)", level: .warning)
        }
    }

    /// Wakes the executor when the next waiting job may start.
    private func wakeForNextScheduledStart() async {
        if let next = try? await store.nextScheduledStart() { scheduledWake.wake(at: next) }
    }

    /// A job's end is recorded whatever it takes: tried again while the
    /// database refuses it, given up only at shutdown (the next start then
    /// fails the job as interrupted).
    private func recordEnd(of job: Int64, status: JobStatus, reason: String?, exitCode: Int32?) async {
        var backoff = Backoff(from: .milliseconds(250), upTo: .seconds(5))
        while true {
            do {
                try await store.finish(job: job, status: status, reason: reason, exitCode: exitCode)
                return
            } catch {
                logger.error("cannot record the end of job \(job), trying again: \(error)")
                guard !Task.isShuttingDownGracefully, (try? await Task.sleep(for: backoff.next())) != nil else { return }
            }
        }
    }

    /// Nothing a job started outlives it (``Leftovers``); what was stopped is said in its log.
    private func stopLeftovers(of job: Int64, run: String) async {
        let count = Leftovers.kill(run: run)
        guard count > 0 else { return }
        try? await store.note(job: job, "stopped \(count) processes the agent left running", level: .warning)
    }

    private func runAgent(_ job: Job, _ control: AgentControl, run token: String, output: OutputTracker) async throws -> AgentEnd {
        let directory = try projectFolder(job.project)
        // The index watches the folder before the agent writes its first file into it,
        // and what the job writes is measured against the project as it is now.
        await index.barrier(project: job.project)
        try await changes.begin(job: job.id, project: job.project)
        let specFile = settings.specsDirectory + "/job-\(job.id).md"
        try PrivateFile.write(job.specification.utf8, to: specFile)
        var launch = try profile(of: job).launch(settings.agents, project: directory, specification: job.specification)
        if let session = job.resumeSessionId { launch = launch.resuming(session) }
        let environment = ["LPH_JOB_ID": String(job.id), "LPH_PROJECT": job.project, "LPH_SPEC_FILE": specFile, Leftovers.variable: token]
            .merging(launch.environment) { ours, _ in ours }
        let timer = settings.timeout.map { timeout in
            Task {
                try await Task.sleep(for: timeout)
                control.stop(.timedOut(seconds: Int(timeout.components.seconds)))
            }
        }
        defer { timer?.cancel() }
        return await run(launch, of: job.id, in: directory, environment: environment, specFile: specFile, control: control, output: output)
    }

    /// The job's folder, made if missing. A symlink put there would run the
    /// agent, and write its files, outside the projects folder.
    private func projectFolder(_ project: String) throws -> String {
        let directory = settings.projectsDirectory + "/" + project
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var st = stat()
        guard lstat(directory, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw DaemonError("the project folder \(directory) is a symlink or not a folder: refusing to run an agent through it")
        }
        return directory
    }

    /// Runs the launch's commands in turn, each logged first; the first that fails ends the job.
    private func run(_ launch: AgentLaunch, of job: Int64, in directory: String, environment: [String: String],
                     specFile: String, control: AgentControl, output: OutputTracker) async -> AgentEnd {
        let store = self.store
        var end = AgentEnd.exited(0)
        for command in launch.steps {
            let process = AgentProcess(command: command, directory: directory, environment: environment,
                                       specificationFile: launch.specificationOnStdin ? specFile : nil)
            try? await store.note(job: job, "running: \(AgentProcess.commandLine(command))", level: .info)
            end = await process.run(control: control, onStart: { pid in
                try? await store.recordAgent(job: job, processGroup: pid)
            }, lines: { lines, onStderr in
                await output.record(lines, onStderr: onStderr, format: launch.format, into: store)
            })
            guard case .exited(0) = end, control.stopReason == nil else { break }
        }
        return end
    }

    private func judge(_ end: AgentEnd, _ stop: StopReason?) -> (JobStatus, String?, Int32?) {
        var code: Int32?
        if case .exited(let c) = end { code = c }
        if let stop { return (stop.status, stop.message, code) }
        switch end {
        case .exited(0): return (.completed, nil, 0)
        case .exited(let c): return (.failed, "agent exited with status \(c)", c)
        case .signalled(let s): return (.failed, "agent killed by signal \(s) (\(String(cString: strsignal(s))))", nil)
        case .couldNotStart(let why): return (.failed, why, nil)
        }
    }

    // MARK: - Control

    enum CancelOutcome: Sendable, Equatable {
        case stopping, cancelled, notFound
        case alreadyEnded(JobStatus)
    }

    /// Cancels a job: a running one has its process group stopped; a pending
    /// one is cancelled before it starts.
    func cancel(_ id: Int64) async throws -> CancelOutcome {
        if let control = running.control(of: id) {
            // A job leaves the running set just after its final status commits.
            if let job = try await store.job(id), job.status.isFinal { return .alreadyEnded(job.status) }
            control.stop(.cancelled)
            return .stopping
        }
        if try await store.cancelPending(job: id) {
            return .cancelled
        }
        guard let job = try await store.job(id) else { return .notFound }
        return job.status == .inProgress ? .stopping : .alreadyEnded(job.status)
    }

    /// Jobs the previous daemon left in progress: their agents (if still
    /// alive, and still theirs) are killed, and the jobs fail with the reason.
    private func failLeftovers() async throws {
        let leftovers = try await store.leftovers()
        for leftover in leftovers {
            if let pgid = leftover.pgid, Self.processGroup(pgid, belongsTo: leftover.job) {
                kill(-pgid, SIGKILL)
            }
            // A job another node already ended (it declared this one lost) only had its agent to stop.
            guard let job = try await store.job(leftover.job), !job.status.isFinal else { continue }
            await retryIfTransient(job, reason: TransientFailure.interruptedByRestart, stop: nil)
            try await store.finish(job: leftover.job, status: .failed, reason: TransientFailure.interruptedByRestart, exitCode: nil)
        }
    }

    /// True when the process `pgid` is still the agent of `job` (its
    /// environment says so), so that a reused process id is never killed.
    private static func processGroup(_ pgid: Int32, belongsTo job: Int64) -> Bool {
        guard let environ = FileManager.default.contents(atPath: "/proc/\(pgid)/environ") else { return false }
        return environ.split(separator: 0).contains { $0.elementsEqual("LPH_JOB_ID=\(job)".utf8) }
    }
}
