import Foundation
import GRDB

/// Every write, each one unit of the single writer's work (documented on ``Store``).
extension SQLiteStore {
    // MARK: - Intake

    func claim(_ request: JobRequest, defaultUser: String?, spoolName: String?, spoolInode: UInt64?) async throws -> Int64 {
        try await write { db, events in
            try JobWrites.claim(db, request, defaultUser: defaultUser, spoolName: spoolName, spoolInode: spoolInode, events: &events)
        }
    }

    func claimFiles(_ files: [SpoolClaim], defaultUser: String?) async throws -> [Result<Int64, Rejection>] {
        try await write { db, events in
            try files.map { file in
                // Each in a savepoint of its own: a rejected one leaves nothing behind, and the others stand.
                var claimed: [Event] = []
                do {
                    var job: Int64 = 0
                    try db.inSavepoint {
                        job = try JobWrites.claim(db, file.request, defaultUser: defaultUser, spoolName: file.name,
                                                  spoolInode: file.inode, events: &claimed)
                        return .commit
                    }
                    events += claimed
                    return .success(job)
                } catch let rejection as Rejection {
                    return .failure(rejection)
                }
            }
        }
    }

    func markFiled(jobs: [Int64]) async throws {
        try await write { db, _ in try JobWrites.markFiled(db, jobs: jobs) }
    }

    func unfiledClaims() async throws -> [(job: Int64, name: String, inode: UInt64)] {
        try await write { db, _ in try JobWrites.unfiled(db) }
    }

    func recordRejection(of name: String, reason: String) async throws {
        try await write { db, events in events.append(try Journal.record(db, .logs, "rejected \(name): \(reason)", level: .warning)) }
    }

    // MARK: - Execution

    func start(job: Int64) async throws -> Job? {
        try await write { db, events in try JobWrites.start(db, job: job, events: &events) }
    }

    /// One write: the queue is read by the writer, which alone changes it.
    func startPending(slots: Int, busy: Set<String>) async throws -> [Job] {
        try await write { db, events in try JobWrites.startPending(db, slots: slots, busy: busy, events: &events) }
    }

    func recordAgent(job: Int64, processGroup: Int32) async throws {
        try await write { db, _ in try JobWrites.recordAgent(db, job: job, pgid: processGroup) }
    }

    func setPhase(job: Int64, _ phase: Phase) async throws {
        try await write { db, events in try JobWrites.setPhase(db, job: job, phase, events: &events) }
    }

    func finish(job: Int64, status: JobStatus, reason: String?, exitCode: Int32?) async throws {
        try await write { db, events in
            try JobWrites.finish(db, job: job, status: status, reason: reason, exitCode: exitCode, events: &events)
        }
    }

    func cancelPending(job: Int64) async throws -> Bool {
        try await write { db, events in try JobWrites.cancelPending(db, job: job, events: &events) }
    }

    func leftovers() async throws -> [(job: Int64, pgid: Int32?)] {
        try await write { db, _ in try JobWrites.leftovers(db) }
    }

    func recordUsage(job: Int64, sessionID: String?, usage: AgentUsage) async throws -> Bool {
        try await write { db, events in try JobWrites.recordUsage(db, job: job, sessionID: sessionID, usage: usage, events: &events) }
    }

    // MARK: - Logs

    func note(job: Int64, _ line: String, level: Level) async throws {
        try await write { db, events in events.append(try Journal.systemLine(db, job: job, line, level: level)) }
    }

    func announce(_ text: String, level: Level, job: Int64?) async throws {
        try await write { db, events in events.append(try Journal.record(db, .logs, text, level: level, job: job)) }
    }

    // MARK: - Artifacts and changes

    func recordArtifacts(_ changes: [ArtifactChange], running: [String: Int64], notes: [(text: String, level: Level)],
                         progressDue: @escaping @Sendable (Set<Int64>) -> [Int64]) async throws -> Set<Int64> {
        try await write { db, events in
            let touched = try ArtifactWrites.apply(db, changes, running: running, adminID: try ArtifactWrites.adminID(db), events: &events)
            for job in progressDue(touched) {
                if let progress = try JobWrites.progressEvent(db, job) { events.append(progress) }
            }
            for note in notes { events.append(try Journal.record(db, .logs, note.text, level: note.level)) }
            return touched
        }
    }

    func beginChanges(job: Int64, tree: String) async throws {
        try await write { db, _ in try ChangeWrites.begin(db, job: job, tree: tree) }
    }

    func recordChanges(job: Int64, tree: String, _ changes: [FileChange], patch: String?,
                       isNewest: @escaping @Sendable () -> Bool) async throws -> Bool {
        try await write { db, events in
            guard isNewest() else { return false }
            if let patch {
                try db.execute(sql: "INSERT OR REPLACE INTO job_diffs (job_id, patch) VALUES (?, ?)", arguments: [job, patch])
            }
            return try ChangeWrites.record(db, job: job, tree: tree, changes, events: &events)
        }
    }

    // MARK: - Insights and knowledge

    func recordInsights(_ insights: [Insight]) async throws {
        try await write { db, events in
            for insight in insights {
                events.append(try Journal.record(db, .insights, insight.text, level: insight.level, source: "observer",
                                                 job: insight.job, payload: insight.payload))
            }
        }
    }

    func learn(_ facts: [(key: String, value: String)], about project: String, job: Int64?) async throws {
        try await write { db, events in
            for (key, value) in facts where try KnowledgeWrites.set(db, subject: project, key: key, value: value) {
                events.append(try KnowledgeWrites.event(db, subject: project, key: key, value: value, job: job))
            }
        }
    }

    // MARK: - Webhooks

    func recordDelivery(_ delivery: Int64, _ outcome: DeliveryOutcome) async throws {
        try await write { db, _ in try OutboxWrites.record(db, delivery: delivery, outcome) }
    }

    // MARK: - Keeping it small

    func prune(before cutoff: String, limit: Int) async throws -> Int {
        try await write { db, _ in
            try db.execute(sql: """
                DELETE FROM log_entries WHERE id IN (
                    SELECT log_entries.id FROM jobs JOIN log_entries ON log_entries.job_id = jobs.id
                    WHERE jobs.finished_at < ? LIMIT ?)
                """, arguments: [cutoff, limit])
            let lines = db.changesCount
            try db.execute(sql: """
                DELETE FROM stream_messages WHERE id IN (
                    SELECT id FROM stream_messages WHERE job_id IS NULL AND created_at < ?
                    UNION ALL
                    SELECT stream_messages.id FROM jobs JOIN stream_messages ON stream_messages.job_id = jobs.id
                    WHERE jobs.finished_at < ? LIMIT ?)
                """, arguments: [cutoff, cutoff, limit])
            let journal = db.changesCount
            try db.execute(sql: """
                DELETE FROM webhook_deliveries WHERE id IN (
                    SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ? LIMIT ?)
                """, arguments: [cutoff, limit])
            return lines + journal + db.changesCount
        }
    }

    // MARK: - Users

    func createUser(email: String, role: Role, credits: Int64) async throws -> (User, String) {
        try await write { db, _ in try UserWrites.create(db, email: email, role: role, credits: credits) }
    }

    func setCredits(user: Int64, to credits: Int64) async throws -> User? {
        try await write { db, _ in try UserWrites.setCredits(db, user: user, to: credits) }
    }

    func setBudget(user: Int64, to budget: Double?) async throws -> User? {
        try await write { db, _ in try UserWrites.setBudget(db, user: user, to: budget) }
    }

    func replaceToken(user: Int64) async throws -> (User, String)? {
        try await write { db, _ in try UserWrites.replaceToken(db, user: user) }
    }

    func deleteUser(_ user: Int64) async throws -> Bool {
        try await write { db, _ in try UserWrites.delete(db, user: user) }
    }
}
