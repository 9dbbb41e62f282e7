import PostgresNIO

/// Every read (documented on ``Store``), on a pooled connection of its own: reads never wait for the writer.
extension PostgresStore {
    // MARK: - Jobs

    public func job(_ id: Int64) async throws -> Job? {
        try await read { session in
            try await session.record(PostgresQuery(unsafeSQL: PostgresJobWrites.selection + " WHERE jobs.id = $1", binds: PostgresJobWrites.binds(id)))
        }
    }

    public func jobs(status: JobStatus?, project: String?, userID: Int64?, before: Int64?, limit: Int) async throws -> [Job] {
        try await read { session in
            var filter = PostgresFilter()
            filter.add("jobs.status = ?", status?.rawValue)
            filter.add("projects.name = ?", project)
            filter.add("jobs.user_id = ?", userID)
            filter.add("jobs.id < ?", before)
            let limit = filter.bind(Int64(limit))
            return try await session.records(filter.query(PostgresJobWrites.stateSelection, "ORDER BY jobs.id DESC LIMIT \(limit)"))
        }
    }

    /// The pending jobs this node may start: those whose project's folder is here, or on no node yet (or on a shared file system).
    func pendingJobs(limit: Int) async throws -> [(id: Int64, project: String)] {
        try await read { [node] session in
            try await session.rows("""
                SELECT jobs.id, projects.name FROM jobs JOIN projects ON projects.id = jobs.project_id
                WHERE jobs.status = 'pending' AND (jobs.run_after IS NULL OR jobs.run_after <= \(Timestamp.now()))
                  AND (\(node.sharedProjects) OR projects.node IS NULL OR projects.node = \(node.name))
                ORDER BY jobs.id LIMIT \(Int64(limit))
                """).map { try $0.decode((Int64, String).self) }
        }
    }

    func nextScheduledStart() async throws -> String? {
        try await read { session in
            try await session.value("SELECT min(run_after) FROM jobs WHERE status = 'pending' AND run_after > \(Timestamp.now())", as: String.self)
        }
    }

    func retries(before job: Int64) async throws -> Int {
        try await read { session in
            try await session.value("""
                WITH RECURSIVE chain(id, retry_of) AS (
                    SELECT id, retry_of FROM jobs WHERE id = \(job)
                    UNION ALL SELECT jobs.id, jobs.retry_of FROM jobs JOIN chain ON jobs.id = chain.retry_of)
                SELECT count(*) - 1 FROM chain
                """, as: Int64.self).map(Int.init) ?? 0
        }
    }

    func usageByUser() async throws -> [Int64: AgentUsage] {
        try await read { session in
            var usage: [Int64: AgentUsage] = [:]
            for row in try await session.rows("""
                SELECT user_id, sum(input_tokens)::bigint, sum(output_tokens)::bigint, sum(cache_read_tokens)::bigint,
                       sum(cache_write_tokens)::bigint, sum(cost_usd)
                FROM jobs GROUP BY user_id
                """) {
                let (user, input, output, cacheRead, cacheWrite, cost) = try row.decode((Int64, Int64, Int64, Int64, Int64, Double).self)
                usage[user] = AgentUsage(inputTokens: input, outputTokens: output, cacheReadTokens: cacheRead, cacheWriteTokens: cacheWrite,
                                         costUSD: cost)
            }
            return usage
        }
    }

    func jobCountsByStatus() async throws -> [JobStatus: Int64] {
        try await read { session in
            var counts: [JobStatus: Int64] = [:]
            for row in try await session.rows("SELECT status, count(*) FROM jobs GROUP BY status") {
                let (status, count) = try row.decode((String, Int64).self)
                if let status = JobStatus(rawValue: status) { counts[status] = count }
            }
            return counts
        }
    }

    func runningJob(project: String) async throws -> Int64? {
        try await read { session in
            try await session.value("""
                SELECT jobs.id FROM jobs JOIN projects ON projects.id = jobs.project_id
                WHERE projects.name = \(project) AND jobs.status = 'in_progress'
                """, as: Int64.self)
        }
    }

    func recentDurations(limit: Int) async throws -> [Double] {
        try await read { session in
            try await session.rows("""
                SELECT extract(epoch FROM finished_at::timestamptz - started_at::timestamptz)::double precision FROM jobs
                WHERE status = 'completed' AND started_at IS NOT NULL ORDER BY id DESC LIMIT \(Int64(limit))
                """).map { try $0.decode(Double.self) }
        }
    }

    // MARK: - Logs

    public func logs(job: Int64, after: Int64, limit: Int) async throws -> [LogEntry] {
        try await read { session in
            try await session.records("SELECT * FROM log_entries WHERE job_id = \(job) AND id > \(after) ORDER BY id LIMIT \(Int64(limit))")
        }
    }

    func lastErrorLine(job: Int64) async throws -> String? {
        try await read { session in
            try await session.value("""
                SELECT message FROM log_entries WHERE job_id = \(job) AND source = 'agent' AND level IN ('error', 'warning')
                ORDER BY level = 'error' DESC, id DESC LIMIT 1
                """, as: String.self)
        }
    }

    // MARK: - The journal

    func streamEvents(_ streams: [StreamName], after: Int64, userID: Int64?, limit: Int) async throws -> [Event] {
        try await read { session in
            var filter = Self.journal(streams, userID: userID)
            filter.add("id > ?", after)
            let limit = filter.bind(Int64(limit))
            return try await session.rows(filter.query("SELECT \(Self.journalColumns) FROM stream_messages", "ORDER BY id LIMIT \(limit)"))
                .map(Self.event(journalRow:))
        }
    }

    func journalTail(_ streams: [StreamName], count: Int, userID: Int64?) async throws -> Int64 {
        try await read { session in
            var filter = Self.journal(streams, userID: userID)
            let offset = filter.bind(Int64(count))
            return try await session.value(filter.query("SELECT id FROM stream_messages", "ORDER BY id DESC LIMIT 1 OFFSET \(offset)"),
                                           as: Int64.self) ?? 0
        }
    }

    func insights(job: Int64?, userID: Int64?, limit: Int) async throws -> [Event] {
        try await read { session in
            var filter = PostgresFilter("stream_type = 'insights'")
            filter.add("job_id = ?", job)
            filter.add("user_id = ?", userID)
            let limit = filter.bind(Int64(limit))
            return try await session.rows(filter.query("SELECT \(Self.journalColumns) FROM stream_messages", "ORDER BY id DESC LIMIT \(limit)"))
                .map(Self.event(journalRow:))
        }
    }

    /// The rows of these streams a user may see (nil: all).
    private static func journal(_ streams: [StreamName], userID: Int64?) -> PostgresFilter {
        var filter = PostgresFilter("stream_type IN (" + streams.map { "'\($0.rawValue)'" }.joined(separator: ",") + ")")
        filter.add("user_id = ?", userID)
        return filter
    }

    // MARK: - Projects, artifacts and changes

    func projects(userID: Int64?) async throws -> [Project] {
        try await read { session in
            var filter = PostgresFilter()
            filter.add("projects.user_id = ?", userID)
            return try await session.records(filter.query("""
                SELECT projects.id, projects.name, users.email AS user, projects.created_at,
                    (SELECT count(*) FROM jobs WHERE project_id = projects.id) AS jobs
                FROM projects JOIN users ON users.id = projects.user_id
                """, "ORDER BY projects.name COLLATE \"C\""))
        }
    }

    func artifacts(type: FileFacts.Kind?, project: String?, job: Int64?, userID: Int64?, limit: Int) async throws -> [Artifact] {
        try await read { session in
            var filter = PostgresFilter()
            filter.add("artifact_type = ?", type?.rawValue)
            filter.add("projects.name = ?", project)
            filter.add("artifacts.job_id = ?", job)
            filter.add("projects.user_id = ?", userID)
            let limit = filter.bind(Int64(limit))
            return try await session.records(filter.query("""
                SELECT artifacts.id, artifacts.job_id, file_path, file_name, artifact_type, NULL AS preview_content, line_count,
                    size_bytes, modified_at, artifacts.created_at, projects.name AS project
                FROM artifacts JOIN projects ON projects.id = artifacts.project_id
                """, "ORDER BY projects.name COLLATE \"C\", file_path COLLATE \"C\" LIMIT \(limit)"))
        }
    }

    func artifact(_ id: Int64, userID: Int64?) async throws -> Artifact? {
        try await read { session in
            var filter = PostgresFilter()
            filter.add("artifacts.id = ?", id)
            filter.add("projects.user_id = ?", userID)
            return try await session.record(filter.query("""
                SELECT artifacts.*, projects.name AS project FROM artifacts JOIN projects ON projects.id = artifacts.project_id
                """))
        }
    }

    func artifactSnapshot() async throws -> [String: [String: (size: Int64, modified: String)]] {
        try await read { session in
            var result: [String: [String: (size: Int64, modified: String)]] = [:]
            let rows = try await session.connection.query("""
                SELECT projects.name, file_path, size_bytes, modified_at FROM artifacts JOIN projects ON projects.id = artifacts.project_id
                """, logger: session.logger)
            for try await (project, path, size, modified) in rows.decode((String, String, Int64, String).self) {
                result[project, default: [:]][path] = (size, modified)
            }
            return result
        }
    }

    func indexedFiles(project: String) async throws -> [IndexedFile] {
        try await read { session in
            try await session.rows("""
                SELECT file_path, artifact_type, line_count FROM artifacts JOIN projects ON projects.id = artifacts.project_id
                WHERE projects.name = \(project) ORDER BY file_path COLLATE "C"
                """).map { row in
                let (path, type, lines) = try row.decode((String, String, Int64).self)
                return IndexedFile(path: path, type: type, lines: lines)
            }
        }
    }

    func changes(job: Int64) async throws -> [FileChange] {
        try await read { session in
            try await session.rows("""
                SELECT file_path, old_path, lines_added, lines_removed, change, "binary" FROM job_changes WHERE job_id = \(job) ORDER BY file_path COLLATE "C"
                """).map { row in
                let (path, oldPath, added, removed, change, binary) = try row.decode((String, String?, Int64, Int64, String, Bool).self)
                return FileChange(path: path, oldPath: oldPath, kind: FileChange.Kind(rawValue: change) ?? .modified,
                                  linesAdded: added, linesRemoved: removed, binary: binary)
            }
        }
    }

    func patch(job: Int64) async throws -> String? {
        try await read { session in try await session.value("SELECT patch FROM job_diffs WHERE job_id = \(job)", as: String.self) }
    }

    func trees(job: Int64) async throws -> (start: String, end: String)? {
        try await read { session in
            guard let row = try await session.rows("SELECT start_tree, end_tree FROM jobs WHERE id = \(job)").first else { return nil }
            let (start, end) = try row.decode((String?, String?).self)
            guard let start, let end else { return nil }
            return (start, end)
        }
    }

    func laterChanges(to job: Int64) async throws -> [(job: Int64, path: String)] {
        try await read { session in
            try await session.rows("""
                SELECT later.job_id, later.file_path FROM job_changes AS mine
                JOIN jobs AS this ON this.id = mine.job_id
                JOIN jobs AS other ON other.project_id = this.project_id AND other.id > this.id
                JOIN job_changes AS later ON later.job_id = other.id
                    AND (later.file_path = mine.file_path OR later.old_path = mine.file_path OR later.file_path = mine.old_path)
                WHERE mine.job_id = \(job) ORDER BY later.job_id, later.file_path COLLATE "C"
                """).map { try $0.decode((Int64, String).self) }
        }
    }

    func knowledge(project: String, userID: Int64?) async throws -> [Fact]? {
        try await read { session in
            let owner = try await session.value("SELECT user_id FROM projects WHERE name = \(project)", as: Int64.self)
            guard let owner, userID == nil || userID == owner else { return nil }
            return try await session.records("SELECT subject, key, value, updated_at FROM knowledge WHERE subject = \(project) ORDER BY key COLLATE \"C\"")
        }
    }

    func sizeInBytes() async throws -> Int64 {
        try await read { session in try await session.value("SELECT pg_database_size(current_database())", as: Int64.self) ?? 0 }
    }

    /// This node and how many nodes beat within the lease.
    func cluster() async throws -> Cluster? {
        try await read { [node] session in
            let alive = try await session.value("""
                SELECT count(*) FROM nodes WHERE lost_at IS NULL AND NOT (\(unescaped: NodeMembership.expired))
                """, as: Int64.self) ?? 0
            return Cluster(node: node.name, nodesAlive: Int(alive), sharedProjects: node.sharedProjects)
        }
    }

    // MARK: - Webhooks

    /// Due deliveries, each taken by one node: the next attempt moves a minute on as it is taken (a lease; the
    /// outcome sets it again), rows another node is taking are skipped.
    func dueDeliveries(limit: Int) async throws -> [WebhookDelivery] {
        try await read { session in
            let now = Timestamp.now()
            return try await session.records("""
                UPDATE webhook_deliveries SET next_attempt_at = \(Timestamp.after(.seconds(60)))
                WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= \(now)
                             ORDER BY next_attempt_at, id LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
                RETURNING *
                """).sorted { ($0.nextAttemptAt, $0.id) < ($1.nextAttemptAt, $1.id) }  // RETURNING keeps no order
        }
    }

    func nextDeliveryAttempt() async throws -> String? {
        try await read { session in
            try await session.value("SELECT min(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending'", as: String.self)
        }
    }

    func deliveries(limit: Int) async throws -> [WebhookDelivery] {
        try await read { session in try await session.records("SELECT * FROM webhook_deliveries ORDER BY id DESC LIMIT \(Int64(limit))") }
    }

    // MARK: - Users

    func user(email: String) async throws -> User? {
        try await read { session in try await session.record("SELECT * FROM users WHERE lower(email) = lower(\(email))") }
    }

    func user(tokenHash: String) async throws -> User? {
        try await read { session in try await session.record("SELECT * FROM users WHERE token_hash = \(tokenHash)") }
    }

    func users() async throws -> [User] {
        try await read { session in try await session.records("SELECT * FROM users WHERE deleted_at IS NULL ORDER BY id") }
    }

    func credits(of email: String) async throws -> (left: Int64, given: Int64)? {
        try await read { session in
            try await session.rows("SELECT line_credits, initial_credits FROM users WHERE lower(email) = lower(\(email))").first?
                .decode((Int64, Int64).self)
        }
    }
}
