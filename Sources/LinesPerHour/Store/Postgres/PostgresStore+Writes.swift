import PostgresNIO

/// Every write, each one unit of this node's writer (documented on ``Store``).
extension PostgresStore {
    // MARK: - Intake

    func claim(_ request: JobRequest, defaultUser: String?, spoolName: String?, spoolInode: UInt64?) async throws -> Int64 {
        try await write { [node] session, events in
            try await PostgresJobWrites.claim(session, request, defaultUser: defaultUser, spoolName: spoolName, spoolInode: spoolInode,
                                              node: node.name, events: &events)
        }
    }

    func claimFiles(_ files: [SpoolClaim], defaultUser: String?) async throws -> [Result<Int64, Rejection>] {
        try await write { [node] session, events in
            var results: [Result<Int64, Rejection>] = []
            for (n, file) in files.enumerated() {
                // Each in a savepoint of its own: a rejected one leaves nothing behind, and the others stand.
                var claimed: [Event] = []
                try await session.rows(PostgresQuery(unsafeSQL: "SAVEPOINT file\(n)"))
                do {
                    let job = try await PostgresJobWrites.claim(session, file.request, defaultUser: defaultUser, spoolName: file.name,
                                                                spoolInode: file.inode, node: node.name, events: &claimed)
                    try await session.rows(PostgresQuery(unsafeSQL: "RELEASE SAVEPOINT file\(n)"))
                    events += claimed
                    results.append(.success(job))
                } catch let rejection as Rejection {
                    try await session.rows(PostgresQuery(unsafeSQL: "ROLLBACK TO SAVEPOINT file\(n)"))
                    try await session.rows(PostgresQuery(unsafeSQL: "RELEASE SAVEPOINT file\(n)"))
                    results.append(.failure(rejection))
                }
            }
            return results
        }
    }

    func markFiled(jobs: [Int64]) async throws {
        _ = try await write { session, _ in try await session.rows("UPDATE jobs SET spool_filed = true WHERE id = ANY(\(jobs))") }
    }

    /// This node's claims only: another node's spool is not here to look at.
    func unfiledClaims() async throws -> [(job: Int64, name: String, inode: UInt64)] {
        try await write { [node] session, _ in
            try await session.rows("""
                SELECT id, spool_name, spool_inode FROM jobs
                WHERE NOT spool_filed AND spool_node = \(node.name)
                """).map { row in
                let (id, name, inode) = try row.decode((Int64, String, Int64?).self)
                return (id, name, UInt64(bitPattern: inode ?? 0))
            }
        }
    }

    func recordRejection(of name: String, reason: String) async throws {
        try await write { session, events in
            events.append(try await PostgresJournal.record(session, .logs, "rejected \(name): \(reason)", level: .warning))
        }
    }

    // MARK: - Execution

    func start(job: Int64) async throws -> Job? {
        try await write { [node] session, events in try await PostgresJobWrites.start(session, job: job, node: node, events: &events) }
    }

    func recordAgent(job: Int64, processGroup: Int32) async throws {
        _ = try await write { session, _ in try await session.rows("UPDATE jobs SET agent_pgid = \(processGroup) WHERE id = \(job)") }
    }

    func setPhase(job: Int64, _ phase: Phase) async throws {
        try await write { session, events in try await PostgresJobWrites.setPhase(session, job: job, phase, events: &events) }
    }

    func finish(job: Int64, status: JobStatus, reason: String?, exitCode: Int32?) async throws {
        try await write { session, events in
            try await PostgresJobWrites.finish(session, job: job, status: status, reason: reason, exitCode: exitCode, events: &events)
        }
    }

    func cancelPending(job: Int64) async throws -> Bool {
        try await write { session, events in try await PostgresJobWrites.cancelPending(session, job: job, events: &events) }
    }

    /// This node's jobs left in progress by its previous run (another node's are its own, or the reaper's),
    /// and, once, those another node failed while this one was lost, whose agents may still run here.
    func leftovers() async throws -> [(job: Int64, pgid: Int32?)] {
        try await write { [node] session, _ in
            let lostReason = "interrupted: node \(node.name) lost"
            let reaped = try await session.rows("""
                UPDATE jobs SET agent_pgid = NULL
                WHERE node = \(node.name) AND status = 'failed' AND failure_reason = \(lostReason) AND agent_pgid IS NOT NULL
                RETURNING id, (SELECT agent_pgid FROM jobs AS before WHERE before.id = jobs.id)
                """)
            let running = try await session.rows("SELECT id, agent_pgid FROM jobs WHERE status = 'in_progress' AND node = \(node.name)")
            return try (running + reaped).map { try $0.decode((Int64, Int32?).self) }
        }
    }

    func recordUsage(job: Int64, sessionID: String?, usage: AgentUsage) async throws -> Bool {
        try await write { session, events in
            try await PostgresJobWrites.recordUsage(session, job: job, sessionID: sessionID, usage: usage, events: &events)
        }
    }

    // MARK: - Logs

    func note(job: Int64, _ line: String, level: Level) async throws {
        try await write { session, events in events.append(try await PostgresJournal.systemLine(session, job: job, line, level: level)) }
    }

    func announce(_ text: String, level: Level, job: Int64?) async throws {
        try await write { session, events in events.append(try await PostgresJournal.record(session, .logs, text, level: level, job: job)) }
    }

    // MARK: - Artifacts and changes

    func recordArtifacts(_ changes: [ArtifactChange], running: [String: Int64], notes: [(text: String, level: Level)],
                         progressDue: @escaping @Sendable (Set<Int64>) -> [Int64]) async throws -> Set<Int64> {
        try await write { session, events in
            let touched = try await PostgresArtifactWrites.apply(session, changes, running: running, events: &events)
            for job in progressDue(touched) {
                if let progress = try await PostgresJobWrites.progressEvent(session, job) { events.append(progress) }
            }
            for note in notes { events.append(try await PostgresJournal.record(session, .logs, note.text, level: note.level)) }
            return touched
        }
    }

    func beginChanges(job: Int64, tree: String) async throws {
        _ = try await write { session, _ in try await session.rows("UPDATE jobs SET start_tree = \(tree), end_tree = \(tree) WHERE id = \(job)") }
    }

    func recordChanges(job: Int64, tree: String, _ changes: [FileChange], patch: String?,
                       isNewest: @escaping @Sendable () -> Bool) async throws -> Bool {
        try await write { session, events in
            guard isNewest() else { return false }
            if let patch {
                try await session.rows("""
                    INSERT INTO job_diffs (job_id, patch) VALUES (\(job), \(patch)) ON CONFLICT (job_id) DO UPDATE SET patch = excluded.patch
                    """)
            }
            return try await PostgresChangeWrites.record(session, job: job, tree: tree, changes, events: &events)
        }
    }

    // MARK: - Insights and knowledge

    func recordInsights(_ insights: [Insight]) async throws {
        try await write { session, events in
            for insight in insights {
                events.append(try await PostgresJournal.record(session, .insights, insight.text, level: insight.level, source: "observer",
                                                               job: insight.job, payload: insight.payload))
            }
        }
    }

    func learn(_ facts: [(key: String, value: String)], about project: String, job: Int64?) async throws {
        try await write { session, events in
            for (key, value) in facts {
                if let event = try await PostgresChangeWrites.learn(session, subject: project, key: key, value: value, job: job) {
                    events.append(event)
                }
            }
        }
    }

    // MARK: - Webhooks

    /// A delivery to every webhook that wants each event's kind, in the event's transaction.
    static func captureDeliveries(_ session: PostgresSession, _ events: [Event], for webhooks: [WebhookSubscription]) async throws {
        for event in events {
            guard let kind = WebhookKind.of(event) else { continue }
            let body = "{\"event\":\(event.json),\"event_id\":\(event.id),\"kind\":\"\(kind.rawValue)\"}"
            let now = Timestamp.now()
            for webhook in webhooks where webhook.kinds.contains(kind) {
                try await session.rows("""
                    INSERT INTO webhook_deliveries (url, kind, event_id, body, next_attempt_at, created_at)
                    VALUES (\(webhook.url), \(kind.rawValue), \(event.id), \(body), \(now), \(now))
                    """)
            }
        }
    }

    func recordDelivery(_ delivery: Int64, _ outcome: DeliveryOutcome) async throws {
        _ = try await write { session, _ in
            switch outcome {
            case .delivered:
                try await session.rows("""
                    UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_error = NULL, delivered_at = \(Timestamp.now())
                    WHERE id = \(delivery)
                    """)
            case let .failed(error, retryAt):
                try await session.rows("""
                    UPDATE webhook_deliveries SET status = \(retryAt == nil ? "given_up" : "pending"), attempts = attempts + 1,
                        last_error = \(error), next_attempt_at = coalesce(\(retryAt), next_attempt_at)
                    WHERE id = \(delivery)
                    """)
            }
        }
    }

    // MARK: - Keeping it small

    func prune(before cutoff: String, limit: Int) async throws -> Int {
        try await write { session, _ in
            let lines = try await session.rows("""
                DELETE FROM log_entries WHERE id IN (
                    SELECT log_entries.id FROM jobs JOIN log_entries ON log_entries.job_id = jobs.id WHERE jobs.finished_at < \(cutoff) LIMIT \(limit))
                RETURNING id
                """).count
            let journal = try await session.rows("""
                DELETE FROM stream_messages WHERE id IN (
                    SELECT id FROM stream_messages WHERE job_id IS NULL AND created_at < \(cutoff)
                    UNION ALL
                    SELECT stream_messages.id FROM jobs JOIN stream_messages ON stream_messages.job_id = jobs.id
                    WHERE jobs.finished_at < \(cutoff) LIMIT \(limit))
                RETURNING id
                """).count
            let deliveries = try await session.rows("""
                DELETE FROM webhook_deliveries WHERE id IN (
                    SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND created_at < \(cutoff) LIMIT \(limit))
                RETURNING id
                """).count
            return lines + journal + deliveries
        }
    }

    // MARK: - Users

    func createUser(email: String, role: Role, credits: Int64) async throws -> (User, String) {
        try await write { session, _ in try await PostgresUserWrites.create(session, email: email, role: role, credits: credits) }
    }

    func setCredits(user: Int64, to credits: Int64) async throws -> User? {
        try await write { session, _ in try await PostgresUserWrites.setCredits(session, user: user, to: credits) }
    }

    func setBudget(user: Int64, to budget: Double?) async throws -> User? {
        try await write { session, _ in try await PostgresUserWrites.setBudget(session, user: user, to: budget) }
    }

    func replaceToken(user: Int64) async throws -> (User, String)? {
        try await write { session, _ in try await PostgresUserWrites.replaceToken(session, user: user) }
    }

    func deleteUser(_ user: Int64) async throws -> Bool {
        try await write { session, _ in try await PostgresUserWrites.delete(session, user: user) }
    }
}
