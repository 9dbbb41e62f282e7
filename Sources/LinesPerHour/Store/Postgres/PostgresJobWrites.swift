import Foundation
import PostgresNIO

/// The job table's state changes on PostgreSQL (``JobWrites`` is SQLite's),
/// each run inside a ``PostgresWriter`` unit of work and journaled.
enum PostgresJobWrites {
    static let selection = "SELECT jobs.*, projects.name AS project, users.email AS user, " + retriedBy + ", " + waitingFor + " " + joins

    /// Every column but the specification (read per job): a job's state.
    static let stateSelection = """
        SELECT jobs.id, jobs.agent, jobs.status, jobs.current_phase, jobs.lines_written, jobs.lines_removed, jobs.tasks_done, jobs.tasks_total,
        jobs.exit_code, jobs.failure_reason, jobs.created_at, jobs.started_at, jobs.finished_at, jobs.updated_at,
        jobs.retry_of, jobs.session_id, jobs.resume_session_id, jobs.run_after, jobs.node,
        jobs.input_tokens, jobs.output_tokens, jobs.cache_read_tokens, jobs.cache_write_tokens, jobs.cost_usd,
        projects.name AS project, users.email AS user,
        """ + " " + retriedBy + ", " + waitingFor + " " + joins

    private static let retriedBy = "(SELECT max(retry.id) FROM jobs AS retry WHERE retry.retry_of = jobs.id) AS retried_by"
    /// The lost node a pending job's project folder is on.
    private static let waitingFor = """
        (SELECT nodes.name FROM nodes WHERE nodes.name = projects.node AND nodes.lost_at IS NOT NULL AND jobs.status = 'pending') AS waiting_for
        """
    private static let joins = "FROM jobs JOIN projects ON projects.id = jobs.project_id JOIN users ON users.id = jobs.user_id"

    // MARK: - Intake

    /// As ``JobWrites/claim(_:_:defaultUser:spoolName:spoolInode:events:)``.
    /// The spool file's claim is `node`'s: only its intake can tell, after a crash, whether the file was filed.
    static func claim(_ session: PostgresSession, _ request: JobRequest, defaultUser: String?, spoolName: String?,
                      spoolInode: UInt64?, node: String, events: inout [Event]) async throws -> Int64 {
        let inode = spoolInode.map { Int64(bitPattern: $0) }
        if let spoolName, let inode, let earlier = try await session.value("""
            SELECT id FROM jobs WHERE NOT spool_filed AND spool_node = \(node) AND spool_name = \(spoolName) AND spool_inode = \(inode)
            """, as: Int64.self) {
            return earlier
        }
        let email = request.user ?? defaultUser
        let user: User? = if let email {
            try await session.record("SELECT * FROM users WHERE lower(email) = lower(\(email)) AND deleted_at IS NULL")
        } else {
            try await session.record("SELECT * FROM users WHERE role = 'admin' AND deleted_at IS NULL ORDER BY id LIMIT 1")
        }
        guard let user else { throw Rejection("unknown user \"\(email ?? "admin")\"") }
        if let key = request.idempotencyKey, let earlier = try await idempotent(session, request, key: key, user: user.id) { return earlier }
        try CreditWrites.requireCredits(user)
        let now = Timestamp.now()
        let projectID: Int64
        if let row = try await session.rows("SELECT id, user_id FROM projects WHERE name = \(request.project)").first {
            let (id, owner) = try row.decode((Int64, Int64).self)
            guard owner == user.id || user.role == .admin else {
                throw Rejection("project \(request.project) belongs to another user", kind: .notYours)
            }
            projectID = id
        } else {
            projectID = try await session.value("""
                INSERT INTO projects (name, user_id, created_at) VALUES (\(request.project), \(user.id), \(now)) RETURNING id
                """, as: Int64.self) ?? 0
        }
        let id = try await session.value("""
            INSERT INTO jobs (project_id, user_id, specification, agent, spool_name, spool_inode, spool_node, spool_filed, idempotency_key,
                              retry_of, resume_session_id, run_after, created_at, updated_at)
            VALUES (\(projectID), \(user.id), \(request.specification), \(request.agent?.rawValue), \(spoolName), \(inode),
                    \(spoolName == nil ? nil : node), \(spoolName == nil),
                    \(request.idempotencyKey), \(request.retryOf), \(request.resumeSessionId), \(request.runAfter), \(now), \(now))
            RETURNING id
            """, as: Int64.self) ?? 0
        let origin = spoolName.map { " from \($0)" } ?? request.retryOf.map { ", retrying job \($0)" } ?? ""
        events.append(try await PostgresJournal.record(session, .logs, "job \(id) accepted for project \(request.project)\(origin)", job: id))
        events.append(try await jobEvent(session, id, "job \(id) pending"))
        if let retried = request.retryOf {
            events.append(try await jobEvent(session, retried, "job \(retried) retried as job \(id)", subject: nil))
        }
        return id
    }

    private static func idempotent(_ session: PostgresSession, _ request: JobRequest, key: String, user: Int64) async throws -> Int64? {
        guard let row = try await session.rows("""
            SELECT jobs.id, projects.name, jobs.specification FROM jobs JOIN projects ON projects.id = jobs.project_id
            WHERE jobs.user_id = \(user) AND jobs.idempotency_key = \(key)
            """).first else { return nil }
        let (id, project, specification) = try row.decode((Int64, String, String).self)
        guard project == request.project, specification == request.specification else {
            throw Rejection("Idempotency-Key \(key) was already used for another request")
        }
        return id
    }

    // MARK: - Execution

    /// Moves a pending job to in progress on `node`, unless another node took
    /// it, it waits for another node, or its project runs a job already (on
    /// any node). The project's folder lives on the node that first runs it.
    static func start(_ session: PostgresSession, job: Int64, node: PostgresStore.Node, events: inout [Event]) async throws -> Job? {
        let now = Timestamp.now()
        let started = try await session.rows("""
            UPDATE jobs SET status = 'in_progress', node = \(node.name), started_at = \(now), updated_at = \(now)
            WHERE id = (SELECT jobs.id FROM jobs JOIN projects ON projects.id = jobs.project_id
                        WHERE jobs.id = \(job) AND jobs.status = 'pending'
                          AND (\(node.sharedProjects) OR projects.node IS NULL OR projects.node = \(node.name))
                          AND NOT EXISTS (SELECT 1 FROM jobs AS other WHERE other.project_id = jobs.project_id AND other.status = 'in_progress')
                        FOR UPDATE OF jobs SKIP LOCKED)
            RETURNING project_id
            """)
        guard let project = try started.first?.decode(Int64.self) else { return nil }
        try await session.rows("UPDATE projects SET node = \(node.name) WHERE id = \(project) AND node IS NULL")
        events.append(try await PostgresJournal.systemLine(session, job: job, "job started on node \(node.name)", level: .info))
        events.append(try await PostgresJournal.record(session, .logs, "job \(job) started on node \(node.name)", job: job))
        events.append(try await jobEvent(session, job, "job \(job) in progress"))
        return try await session.record(PostgresQuery(unsafeSQL: selection + " WHERE jobs.id = $1", binds: binds(job)))
    }

    static func setPhase(_ session: PostgresSession, job: Int64, _ phase: Phase, events: inout [Event]) async throws {
        try await session.rows("UPDATE jobs SET current_phase = \(phase.rawValue), updated_at = \(Timestamp.now()) WHERE id = \(job)")
        events.append(try await PostgresJournal.systemLine(session, job: job, "phase: \(phase.rawValue)", level: .info))
        events.append(try await PostgresJournal.record(session, .logs, "job \(job) phase changed to \(phase.rawValue)", job: job))
        events.append(try await jobEvent(session, job, "job \(job) phase \(phase.rawValue)"))
    }

    /// Moves a job's phase forward, never back, and never for a job that has ended.
    static func advancePhase(_ session: PostgresSession, job: Int64, to phase: Phase, events: inout [Event]) async throws {
        guard let row = try await session.rows("SELECT current_phase, status FROM jobs WHERE id = \(job)").first else { return }
        let (currentText, statusText) = try row.decode((String, String).self)
        guard let current = Phase(rawValue: currentText), current < phase, JobStatus(rawValue: statusText)?.isFinal == false else { return }
        try await setPhase(session, job: job, phase, events: &events)
    }

    /// Ends a job: its cause in its own log first, then the status.
    static func finish(_ session: PostgresSession, job: Int64, status: JobStatus, reason: String?, exitCode: Int32?,
                       events: inout [Event]) async throws {
        let now = Timestamp.now()
        // A job ends once: one another node ended (declaring this one lost) stays as it was ended.
        let ended = try await session.rows("""
            UPDATE jobs SET status = \(status.rawValue), failure_reason = \(status == .completed ? nil : reason),
                exit_code = \(exitCode.map(Int64.init)), finished_at = \(now), updated_at = \(now)
            WHERE id = \(job) AND status IN ('pending', 'in_progress') RETURNING id
            """)
        guard !ended.isEmpty else { return }
        events.append(try await PostgresJournal.systemLine(session, job: job, reason ?? "job \(status.rawValue)",
                                                           level: status == .completed ? .info : .error))
        let level: Level = status == .completed ? .info : (status == .cancelled ? .warning : .error)
        events.append(try await PostgresJournal.record(session, .logs, "job \(job) \(status.rawValue)\(reason.map { ": \($0)" } ?? "")",
                                                       level: level, job: job))
        events.append(try await jobEvent(session, job, "job \(job) \(status.rawValue)", subject: Subject.jobEnded))
    }

    static func cancelPending(_ session: PostgresSession, job: Int64, events: inout [Event]) async throws -> Bool {
        guard try await session.value("SELECT status FROM jobs WHERE id = \(job) FOR UPDATE", as: String.self) == JobStatus.pending.rawValue else {
            return false
        }
        try await finish(session, job: job, status: .cancelled, reason: "cancelled before it started", exitCode: nil, events: &events)
        return true
    }

    static func recordUsage(_ session: PostgresSession, job: Int64, sessionID: String?, usage: AgentUsage, events: inout [Event]) async throws -> Bool {
        try await session.rows("""
            UPDATE jobs SET session_id = coalesce(session_id, \(sessionID)), input_tokens = input_tokens + \(usage.inputTokens),
                output_tokens = output_tokens + \(usage.outputTokens), cache_read_tokens = cache_read_tokens + \(usage.cacheReadTokens),
                cache_write_tokens = cache_write_tokens + \(usage.cacheWriteTokens), cost_usd = cost_usd + \(usage.costUSD)
            WHERE id = \(job)
            """)
        if let progress = try await progressEvent(session, job) { events.append(progress) }
        guard usage.costUSD > 0 else { return false }
        let left = try await session.rows("""
            UPDATE users SET budget_usd = budget_usd - \(usage.costUSD)
            WHERE id = (SELECT user_id FROM jobs WHERE id = \(job)) AND budget_usd IS NOT NULL RETURNING budget_usd
            """).first?.decode(Double.self)
        return left.map { $0 <= 0 } ?? false
    }

    // MARK: - The jobs stream

    /// A job's progress, or nil once it has ended.
    static func progressEvent(_ session: PostgresSession, _ job: Int64) async throws -> Event? {
        let status = try await session.value("SELECT status FROM jobs WHERE id = \(job)", as: String.self).flatMap(JobStatus.init)
        guard let status, !status.isFinal else { return nil }
        return try await jobEvent(session, job, "job \(job) progress")
    }

    /// A `jobs` stream row whose payload is the job's current state (without its specification).
    static func jobEvent(_ session: PostgresSession, _ job: Int64, _ text: String, subject: ((Job) -> Subject)? = Subject.job) async throws -> Event {
        guard let row: Job = try await session.record(PostgresQuery(unsafeSQL: stateSelection + " WHERE jobs.id = $1", binds: binds(job))) else {
            return try await PostgresJournal.record(session, .jobs, text, job: job)
        }
        return try await PostgresJournal.record(session, .jobs, text, job: job,
                                                payload: String(decoding: try JSONCoding.encoder.encode(row), as: UTF8.self),
                                                subject: subject?(row))
    }

    static func binds(_ values: Int64...) -> PostgresBindings {
        var binds = PostgresBindings()
        for value in values { binds.append(value) }
        return binds
    }
}
