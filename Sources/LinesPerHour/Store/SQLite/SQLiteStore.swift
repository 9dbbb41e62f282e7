import Foundation
import GRDB
import Logging

/// The embedded store: one SQLite file in WAL mode, migrated when opened.
///
/// Reads run on GRDB's reader connections and never wait for the writer;
/// every write is a unit of work of the single ``Writer``.
public final class SQLiteStore: Store {
    private let database: any DatabaseWriter
    private let writer: Writer

    /// Opens (creating it if need be) the database at `path`, private to its
    /// owner whatever the umask. `publish` is handed each batch of committed events.
    public convenience init(path: String, logger: Logger = Logger(label: "lph"), webhooks: [WebhookSubscription] = [],
                            publish: @escaping @Sendable ([Event]) -> Void = { _ in }) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // Statement journals and sorts in memory: on disk, each was a file made and
            // deleted in /var/tmp (several a second while an agent wrote thousands of files).
            // Migrations run with FILE (below).
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        // SQLite makes its -wal and -shm files with the database's own mode: 0600 for all three.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd) }
        for file in [path, path + "-wal", path + "-shm"] { try PrivateFile.restrict(file) }
        try self.init(database: DatabasePool(path: path, configuration: configuration), logger: logger, webhooks: webhooks, publish: publish)
    }

    /// A store on any GRDB database (an in-memory queue in tests), migrated first.
    /// Each batch's events that `webhooks` want are put in the outbox in their own transaction.
    init(database: any DatabaseWriter, logger: Logger, webhooks: [WebhookSubscription],
         publish: @escaping @Sendable ([Event]) -> Void) throws {
        // A migration may rebuild an index over millions of rows: its sort spills to disk, not to memory.
        try database.writeWithoutTransaction { try $0.execute(sql: "PRAGMA temp_store = FILE") }
        try Schema.migrator.migrate(database)
        try database.writeWithoutTransaction { try $0.execute(sql: "PRAGMA temp_store = MEMORY") }
        self.database = database
        let capture: Writer.Capture = { db, events in try OutboxWrites.capture(db, events, for: webhooks) }
        writer = Writer(database: database, logger: logger, capture: webhooks.isEmpty ? nil : capture, publish: publish)
    }

    public func run() async throws {
        try await writer.run()
    }

    var writeProblem: String? { writer.problem }

    func append(_ rows: [LogRow]) async {
        await writer.append(rows)
    }

    /// Runs `body` as one unit of the writer's work; see ``Writer/perform(_:)``.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database, inout [Event]) throws -> T) async throws -> T {
        try await Self.translatingErrors { try await writer.perform(body) }
    }

    /// Setup happens before the writer runs, as the migrations do: nothing else writes yet.
    func ensureAdmin(email: String, credits: Int64) async throws -> String? {
        try await database.write { db -> String? in
            guard try !UserWrites.hasAdmin(db) else { return nil }
            return try UserWrites.create(db, email: email, role: .admin, credits: credits).1
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.translatingErrors { try await database.read(body) }
    }

    /// SQLite's errors leave the store as ``StoreError``s: its callers know no engine.
    private static func translatingErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DatabaseError {
            throw StoreError.refused(error.message ?? "\(error.resultCode)")
        }
    }

    // MARK: - Jobs

    public func job(_ id: Int64) async throws -> Job? {
        try await read { db in
            try Job.fetchOne(db, sql: Job.selection + " WHERE jobs.id = ?", arguments: [id])
        }
    }

    public func jobs(status: JobStatus?, project: String?, userID: Int64?, before: Int64?, limit: Int) async throws -> [Job] {
        try await read { db in
            var filter = Filter()
            filter.add("jobs.status = ?", status?.rawValue)
            filter.add("projects.name = ?", project)
            filter.add("jobs.user_id = ?", userID)
            filter.add("jobs.id < ?", before)
            return try Job.fetchAll(db, sql: Job.stateSelection + filter.sql + " ORDER BY jobs.id DESC LIMIT ?", arguments: filter.arguments(limit))
        }
    }

    func pendingJobs(limit: Int) async throws -> [(id: Int64, project: String)] {
        try await read { db in try JobWrites.pending(db, limit: limit) }
    }

    func nextScheduledStart() async throws -> String? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT min(run_after) FROM jobs WHERE status = 'pending' AND run_after > ?",
                                arguments: [Timestamp.now()])
        }
    }

    func retries(before job: Int64) async throws -> Int {
        try await read { try JobWrites.retries($0, before: job) }
    }

    func usageByUser() async throws -> [Int64: AgentUsage] {
        try await read { db in
            var usage: [Int64: AgentUsage] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT user_id, sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens), sum(cost_usd)
                FROM jobs GROUP BY user_id
                """) {
                usage[row[0]] = AgentUsage(inputTokens: row[1], outputTokens: row[2], cacheReadTokens: row[3], cacheWriteTokens: row[4],
                                           costUSD: row[5])
            }
            return usage
        }
    }

    func jobCountsByStatus() async throws -> [JobStatus: Int64] {
        try await read { db in
            var counts: [JobStatus: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, count(*) FROM jobs GROUP BY status") {
                if let status = JobStatus(rawValue: row[0]) { counts[status] = row[1] }
            }
            return counts
        }
    }

    func runningJob(project: String) async throws -> Int64? {
        try await read { db in
            try Int64.fetchOne(db, sql: """
                SELECT jobs.id FROM jobs JOIN projects ON projects.id = jobs.project_id WHERE projects.name = ? AND jobs.status = 'in_progress'
                """, arguments: [project])
        }
    }

    // MARK: - Logs

    public func logs(job: Int64, after: Int64, limit: Int) async throws -> [LogEntry] {
        try await read { db in
            try LogEntry.fetchAll(db, sql: """
                SELECT * FROM log_entries WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?
                """, arguments: [job, after, limit])
        }
    }

    // MARK: - The journal

    func streamEvents(_ streams: [StreamName], after: Int64, userID: Int64?, limit: Int) async throws -> [Event] {
        try await read { db in
            var filter = Self.journal(streams, userID: userID)
            filter.add("id > ?", after)
            return try Row.fetchAll(db, sql: "SELECT * FROM stream_messages" + filter.sql + " ORDER BY id LIMIT ?",
                                    arguments: filter.arguments(limit)).map(Event.init(journalRow:))
        }
    }

    func journalTail(_ streams: [StreamName], count: Int, userID: Int64?) async throws -> Int64 {
        try await read { db in
            let filter = Self.journal(streams, userID: userID)
            return try Int64.fetchOne(db, sql: "SELECT id FROM stream_messages" + filter.sql + " ORDER BY id DESC LIMIT 1 OFFSET ?",
                                      arguments: filter.arguments(count)) ?? 0
        }
    }

    /// The rows of these streams a user may see (nil: all).
    private static func journal(_ streams: [StreamName], userID: Int64?) -> Filter {
        var filter = Filter("stream_type IN (" + streams.map { "'\($0.rawValue)'" }.joined(separator: ",") + ")")
        filter.add("user_id = ?", userID)
        return filter
    }

    // MARK: - Projects, artifacts and changes

    func projects(userID: Int64?) async throws -> [Project] {
        try await read { db in
            var filter = Filter()
            filter.add("projects.user_id = ?", userID)
            return try Project.fetchAll(db, sql: """
                SELECT projects.id, projects.name, users.email AS user, projects.created_at,
                    (SELECT count(*) FROM jobs WHERE project_id = projects.id) AS jobs
                FROM projects JOIN users ON users.id = projects.user_id
                \(filter.sql) ORDER BY projects.name
                """, arguments: filter.arguments())
        }
    }

    func artifacts(type: FileFacts.Kind?, project: String?, job: Int64?, userID: Int64?, limit: Int) async throws -> [Artifact] {
        try await read { db in
            var filter = Filter()
            filter.add("artifact_type = ?", type?.rawValue)
            filter.add("projects.name = ?", project)
            filter.add("artifacts.job_id = ?", job)
            filter.add("projects.user_id = ?", userID)
            return try Artifact.fetchAll(db, sql: Artifact.listing + filter.sql + " ORDER BY projects.name, file_path LIMIT ?",
                                         arguments: filter.arguments(limit))
        }
    }

    func artifact(_ id: Int64, userID: Int64?) async throws -> Artifact? {
        try await read { db in
            var filter = Filter()
            filter.add("artifacts.id = ?", id)
            filter.add("projects.user_id = ?", userID)
            return try Artifact.fetchOne(db, sql: Artifact.selection + filter.sql, arguments: filter.arguments())
        }
    }

    func artifactSnapshot() async throws -> [String: [String: (size: Int64, modified: String)]] {
        try await read { try ArtifactWrites.snapshot($0) }
    }

    func changes(job: Int64) async throws -> [FileChange] {
        try await read { try ChangeWrites.changes($0, job: job) }
    }

    func patch(job: Int64) async throws -> String? {
        try await read { db in try String.fetchOne(db, sql: "SELECT patch FROM job_diffs WHERE job_id = ?", arguments: [job]) }
    }

    func trees(job: Int64) async throws -> (start: String, end: String)? {
        try await read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT start_tree, end_tree FROM jobs WHERE id = ?", arguments: [job]),
                  let start: String = row["start_tree"], let end: String = row["end_tree"] else { return nil }
            return (start, end)
        }
    }

    func laterChanges(to job: Int64) async throws -> [(job: Int64, path: String)] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT later.job_id, later.file_path FROM job_changes AS mine
                JOIN jobs AS this ON this.id = mine.job_id
                JOIN jobs AS other ON other.project_id = this.project_id AND other.id > this.id
                JOIN job_changes AS later ON later.job_id = other.id
                    AND (later.file_path = mine.file_path OR later.old_path = mine.file_path OR later.file_path = mine.old_path)
                WHERE mine.job_id = ? ORDER BY later.job_id, later.file_path
                """, arguments: [job]).map { ($0["job_id"], $0["file_path"]) }
        }
    }

    func sizeInBytes() async throws -> Int64 {
        try await read { db in
            try Int64.fetchOne(db, sql: "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()") ?? 0
        }
    }

    func cluster() async throws -> Cluster? { nil }

    // MARK: - Webhooks

    func dueDeliveries(limit: Int) async throws -> [WebhookDelivery] {
        try await read { db in
            try WebhookDelivery.fetchAll(db, sql: """
                SELECT * FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?
                """, arguments: [Timestamp.now(), limit])
        }
    }

    func nextDeliveryAttempt() async throws -> String? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT min(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending'")
        }
    }

    func deliveries(limit: Int) async throws -> [WebhookDelivery] {
        try await read { db in
            try WebhookDelivery.fetchAll(db, sql: "SELECT * FROM webhook_deliveries ORDER BY id DESC LIMIT ?", arguments: [limit])
        }
    }

    // MARK: - Users

    func user(email: String) async throws -> User? {
        try await read { db in
            try User.fetchOne(db, sql: "SELECT * FROM users WHERE email = ?", arguments: [email])
        }
    }

    func user(tokenHash: String) async throws -> User? {
        try await read { db in
            try User.fetchOne(db, sql: "SELECT * FROM users WHERE token_hash = ?", arguments: [tokenHash])
        }
    }

    func users() async throws -> [User] {
        try await read { db in try User.fetchAll(db, sql: "SELECT * FROM users WHERE deleted_at IS NULL ORDER BY id") }
    }
}
