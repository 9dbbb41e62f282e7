import Foundation
import GRDB

/// The job table's state changes, each run inside a ``Writer`` unit of work.
/// Each one journals what it did, so the FIFO and the streams hear of it.
enum JobWrites {
    // MARK: - Intake

    /// Inserts a pending job for a request, or throws the rejection that the
    /// database's state calls for (unknown user, no credits, someone else's project).
    /// Claiming the same spool file twice (same name, same inode, not yet
    /// filed) returns the first claim's job: a file never makes two jobs.
    static func claim(_ db: Database, _ request: JobRequest, defaultUser: String?, spoolName: String?,
                      spoolInode: UInt64?, events: inout [Event]) throws -> Int64 {
        if let spoolName, let spoolInode, let earlier = try Int64.fetchOne(db.cachedStatement(sql: """
            SELECT id FROM jobs WHERE spool_filed = 0 AND spool_name = ? AND spool_inode = ?
            """), arguments: [spoolName, Int64(bitPattern: spoolInode)]) {
            return earlier
        }
        let email = request.user ?? defaultUser
        let user = try email.flatMap { try User.fetchOne(db.cachedStatement(sql: "SELECT * FROM users WHERE email = ? AND deleted_at IS NULL"), arguments: [$0]) }
            ?? (email == nil ? User.fetchOne(db, sql: "SELECT * FROM users WHERE role = 'admin' AND deleted_at IS NULL ORDER BY id LIMIT 1") : nil)
        guard let user else { throw Rejection("unknown user \"\(email ?? "admin")\"") }
        if let key = request.idempotencyKey, let earlier = try idempotent(db, request, key: key, user: user.id) { return earlier }
        try CreditWrites.requireCredits(user)
        let now = Timestamp.now()
        let projectID: Int64
        if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT id, user_id FROM projects WHERE name = ?"), arguments: [request.project]) {
            guard row["user_id"] == user.id || user.role == .admin else {
                throw Rejection("project \(request.project) belongs to another user", kind: .notYours)
            }
            projectID = row["id"]
        } else {
            try db.execute(sql: "INSERT INTO projects (name, user_id, created_at) VALUES (?, ?, ?)",
                           arguments: [request.project, user.id, now])
            projectID = db.lastInsertedRowID
        }
        try db.cachedStatement(sql: """
            INSERT INTO jobs (project_id, user_id, specification, agent, spool_name, spool_inode, spool_filed, idempotency_key,
                              retry_of, resume_session_id, run_after, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [projectID, user.id, request.specification, request.agent?.rawValue, spoolName,
                             spoolInode.map { Int64(bitPattern: $0) }, spoolName == nil ? 1 : 0, request.idempotencyKey,
                             request.retryOf, request.resumeSessionId, request.runAfter, now, now])
        let id = db.lastInsertedRowID
        let origin = spoolName.map { " from \($0)" } ?? request.retryOf.map { ", retrying job \($0)" } ?? ""
        events.append(try Journal.record(db, .logs, "job \(id) accepted for project \(request.project)\(origin)", job: id))
        events.append(try jobEvent(db, id, "job \(id) pending"))
        // The retried job's card says which job retries it: its state again, not news of it (no subject for the listeners).
        if let retried = request.retryOf { events.append(try jobEvent(db, retried, "job \(retried) retried as job \(id)", subject: nil)) }
        return id
    }

    static func markFiled(_ db: Database, jobs: [Int64]) throws {
        let filed = try db.cachedStatement(sql: "UPDATE jobs SET spool_filed = 1 WHERE id = ?")
        for job in jobs { try filed.execute(arguments: [job]) }
    }

    /// Jobs whose row was committed but whose file may still sit in `incoming/`.
    static func unfiled(_ db: Database) throws -> [(job: Int64, name: String, inode: UInt64)] {
        try Row.fetchAll(db, sql: "SELECT id, spool_name, spool_inode FROM jobs WHERE spool_filed = 0").map {
            ($0["id"], $0["spool_name"], UInt64(bitPattern: $0["spool_inode"] ?? 0))
        }
    }

    // MARK: - Execution

    /// Moves a pending job to in progress; nil if it is no longer pending.
    static func start(_ db: Database, job: Int64, events: inout [Event]) throws -> Job? {
        let now = Timestamp.now()
        try db.cachedStatement(sql: """
            UPDATE jobs SET status = 'in_progress', started_at = ?, updated_at = ? WHERE id = ? AND status = 'pending'
            """).execute(arguments: [now, now, job])
        guard db.changesCount == 1 else { return nil }
        events.append(try Journal.systemLine(db, job: job, "job started", level: .info))
        events.append(try Journal.record(db, .logs, "job \(job) started", job: job))
        events.append(try jobEvent(db, job, "job \(job) in progress"))
        return try Job.fetchOne(db.cachedStatement(sql: Job.selection + " WHERE jobs.id = ?"), arguments: [job])
    }

    /// Pending jobs that may start now, with their projects, oldest first.
    static func pending(_ db: Database, limit: Int) throws -> [(id: Int64, project: String)] {
        try Array(pendingCursor(db, limit: limit))
    }

    private static func pendingCursor(_ db: Database, limit: Int) throws -> some Cursor<(id: Int64, project: String)> {
        try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT jobs.id, projects.name FROM jobs JOIN projects ON projects.id = jobs.project_id
            WHERE jobs.status = 'pending' AND (jobs.run_after IS NULL OR jobs.run_after <= ?) ORDER BY jobs.id LIMIT ?
            """), arguments: [Timestamp.now(), limit]).map { (id: $0[0], project: $0[1]) }
    }

    /// Starts the oldest pending jobs, `slots` at most, one a project, none of a project in `busy`;
    /// reads the queue only as far as it must (it may hold thousands).
    static func startPending(_ db: Database, slots: Int, busy: Set<String>, events: inout [Event]) throws -> [Job] {
        var chosen: [Int64] = []
        var busy = busy
        let queue = try pendingCursor(db, limit: 1000)
        while chosen.count < slots, let next = try queue.next() {
            if busy.insert(next.project).inserted { chosen.append(next.id) }
        }
        return try chosen.compactMap { try start(db, job: $0, events: &events) }
    }

    static func recordAgent(_ db: Database, job: Int64, pgid: Int32) throws {
        try db.execute(sql: "UPDATE jobs SET agent_pgid = ? WHERE id = ?", arguments: [pgid, job])
    }

    static func setPhase(_ db: Database, job: Int64, _ phase: Phase, events: inout [Event]) throws {
        try db.execute(sql: "UPDATE jobs SET current_phase = ?, updated_at = ? WHERE id = ?",
                       arguments: [phase.rawValue, Timestamp.now(), job])
        events.append(try Journal.systemLine(db, job: job, "phase: \(phase.rawValue)", level: .info))
        events.append(try Journal.record(db, .logs, "job \(job) phase changed to \(phase.rawValue)", job: job))
        events.append(try jobEvent(db, job, "job \(job) phase \(phase.rawValue)"))
    }

    /// Moves a job's phase forward, never back: what its files show
    /// (a `plan.md` means planning has happened) only ever adds to what is known.
    /// Nothing moves for a job that has ended (files the index attributes to it a moment late).
    static func advancePhase(_ db: Database, job: Int64, to phase: Phase, events: inout [Event]) throws {
        guard let row = try Row.fetchOne(db, sql: "SELECT current_phase, status FROM jobs WHERE id = ?", arguments: [job]),
              let current = Phase(rawValue: row["current_phase"]), current < phase,
              JobStatus(rawValue: row["status"])?.isFinal == false else { return }
        try setPhase(db, job: job, phase, events: &events)
    }

    /// Ends a job: its cause in its own log first, then the status.
    static func finish(_ db: Database, job: Int64, status: JobStatus, reason: String?, exitCode: Int32?,
                       events: inout [Event]) throws {
        let now = Timestamp.now()
        let line = reason ?? "job \(status.rawValue)"
        events.append(try Journal.systemLine(db, job: job, line, level: status == .completed ? .info : .error))
        try db.execute(sql: """
            UPDATE jobs SET status = ?, failure_reason = ?, exit_code = ?, finished_at = ?, updated_at = ? WHERE id = ?
            """, arguments: [status.rawValue, status == .completed ? nil : reason, exitCode, now, now, job])
        let level: Level = status == .completed ? .info : (status == .cancelled ? .warning : .error)
        events.append(try Journal.record(db, .logs, "job \(job) \(status.rawValue)\(reason.map { ": \($0)" } ?? "")", level: level, job: job))
        events.append(try jobEvent(db, job, "job \(job) \(status.rawValue)", subject: Subject.jobEnded))
    }

    /// Cancels a job that has not started; false if it is not pending.
    static func cancelPending(_ db: Database, job: Int64, events: inout [Event]) throws -> Bool {
        guard try String.fetchOne(db, sql: "SELECT status FROM jobs WHERE id = ?", arguments: [job]) == JobStatus.pending.rawValue else {
            return false
        }
        try finish(db, job: job, status: .cancelled, reason: "cancelled before it started", exitCode: nil, events: &events)
        return true
    }

    /// Adds what the agent CLI said it used, and its session the first time it is told;
    /// true when its cost spent the user's budget.
    static func recordUsage(_ db: Database, job: Int64, sessionID: String?, usage: AgentUsage, events: inout [Event]) throws -> Bool {
        try db.execute(sql: """
            UPDATE jobs SET session_id = coalesce(session_id, ?), input_tokens = input_tokens + ?, output_tokens = output_tokens + ?,
                cache_read_tokens = cache_read_tokens + ?, cache_write_tokens = cache_write_tokens + ?, cost_usd = cost_usd + ?
            WHERE id = ?
            """, arguments: [sessionID, usage.inputTokens, usage.outputTokens, usage.cacheReadTokens, usage.cacheWriteTokens,
                             usage.costUSD, job])
        if let progress = try progressEvent(db, job) { events.append(progress) }
        return try CreditWrites.chargeCost(db, job: job, cost: usage.costUSD)
    }

    /// How many retries came before `job` (0 for a first attempt).
    static func retries(_ db: Database, before job: Int64) throws -> Int {
        try Int.fetchOne(db, sql: """
            WITH RECURSIVE chain(id, retry_of) AS (
                SELECT id, retry_of FROM jobs WHERE id = ?
                UNION ALL SELECT jobs.id, jobs.retry_of FROM jobs JOIN chain ON jobs.id = chain.retry_of)
            SELECT count(*) - 1 FROM chain
            """, arguments: [job]) ?? 0
    }

    /// Jobs left in progress by a daemon that died, with their agents' process groups.
    static func leftovers(_ db: Database) throws -> [(job: Int64, pgid: Int32?)] {
        try Row.fetchAll(db, sql: "SELECT id, agent_pgid FROM jobs WHERE status = 'in_progress'").map { ($0["id"], $0["agent_pgid"]) }
    }

    /// The job an earlier request with the same `Idempotency-Key` made (a
    /// client retrying after a time-out gets it again, not a second job); a
    /// key used again for a different request is refused.
    private static func idempotent(_ db: Database, _ request: JobRequest, key: String, user: Int64) throws -> Int64? {
        guard let earlier = try Row.fetchOne(db, sql: """
            SELECT jobs.id, projects.name, jobs.specification FROM jobs JOIN projects ON projects.id = jobs.project_id
            WHERE jobs.user_id = ? AND jobs.idempotency_key = ?
            """, arguments: [user, key]) else { return nil }
        guard earlier["name"] == request.project, earlier["specification"] == request.specification else {
            throw Rejection("Idempotency-Key \(key) was already used for another request")
        }
        return earlier["id"]
    }

    // MARK: - The jobs stream

    /// A job's progress (lines counted, tasks checked), or nil once it has
    /// ended: nothing is said of a job after its final event.
    static func progressEvent(_ db: Database, _ job: Int64) throws -> Event? {
        let status = try String.fetchOne(db, sql: "SELECT status FROM jobs WHERE id = ?", arguments: [job]).flatMap(JobStatus.init)
        guard let status, !status.isFinal else { return nil }
        return try jobEvent(db, job, "job \(job) progress")
    }

    /// A `jobs` stream row whose payload is the job's current state.
    /// A `jobs` stream row: the job's JSON without its specification, which
    /// never changes after submission (it is at `GET /jobs/{id}`) and, at up to
    /// 1 MiB, would otherwise be stored and sent again with every progress event.
    /// `subject` makes the event's typed side from the job's state (``Subject/job(_:)`` unless told otherwise).
    static func jobEvent(_ db: Database, _ job: Int64, _ text: String, subject: ((Job) -> Subject)? = Subject.job) throws -> Event {
        // A cached statement: compiling this query (GRDB's authorizer looks at every column) was a third of a claim.
        guard let row = try Job.fetchOne(db.cachedStatement(sql: Job.stateSelection + " WHERE jobs.id = ?"), arguments: [job]) else {
            return try Journal.record(db, .jobs, text, job: job)
        }
        return try Journal.record(db, .jobs, text, job: job, payload: String(decoding: try JSONCoding.encoder.encode(row), as: UTF8.self),
                                  subject: subject?(row))
    }
}
