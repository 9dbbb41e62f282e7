import Foundation
import GRDB

/// The SQLite database: a WAL pool for readers, opened and migrated at start.
///
/// Reads happen here, on the pool, and never wait for the writer; every
/// write goes through the single ``Writer``.
public final class Store: Sendable {
    public let pool: DatabasePool

    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        // SQLite makes its -wal and -shm files with the database's own mode: 0600 for all three.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd) }
        for file in [path, path + "-wal", path + "-shm"] { try PrivateFile.restrict(file) }
        pool = try DatabasePool(path: path, configuration: configuration)
        try Schema.migrator.migrate(pool)
    }

    // MARK: - Jobs

    public func job(_ id: Int64) throws -> Job? {
        try pool.read { db in
            try Job.fetchOne(db, sql: Job.selection + " WHERE jobs.id = ?", arguments: [id])
        }
    }

    /// Jobs newest first, `limit` at most, older than `before` when given: their
    /// state without their specifications (read per job, ``job(_:)``).
    public func jobs(status: JobStatus? = nil, project: String? = nil, userID: Int64? = nil, before: Int64? = nil,
                     limit: Int = 500) throws -> [Job] {
        try pool.read { db in
            var filter = Filter()
            filter.add("jobs.status = ?", status?.rawValue)
            filter.add("projects.name = ?", project)
            filter.add("jobs.user_id = ?", userID)
            filter.add("jobs.id < ?", before)
            return try Job.fetchAll(db, sql: Job.stateSelection + filter.sql + " ORDER BY jobs.id DESC LIMIT ?", arguments: filter.arguments(limit))
        }
    }

    /// Pending jobs with their projects, oldest first: the executor's queue.
    func pendingJobs(limit: Int) throws -> [(id: Int64, project: String)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT jobs.id, projects.name FROM jobs JOIN projects ON projects.id = jobs.project_id
                WHERE jobs.status = 'pending' ORDER BY jobs.id LIMIT ?
                """, arguments: [limit]).map { ($0[0], $0[1]) }
        }
    }

    public func jobCountsByStatus() throws -> [JobStatus: Int64] {
        try pool.read { db in
            var counts: [JobStatus: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, count(*) FROM jobs GROUP BY status") {
                if let status = JobStatus(rawValue: row[0]) { counts[status] = row[1] }
            }
            return counts
        }
    }

    // MARK: - Logs

    public func logs(job: Int64, after: Int64 = 0, limit: Int = 1000) throws -> [LogEntry] {
        try pool.read { db in
            try LogEntry.fetchAll(db, sql: """
                SELECT * FROM log_entries WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?
                """, arguments: [job, after, limit])
        }
    }

    // MARK: - Projects and artifacts

    public func projects(userID: Int64?) throws -> [Project] {
        try pool.read { db in
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

    public func artifacts(type: FileFacts.Kind?, project: String?, job: Int64?, userID: Int64?, limit: Int = 5000) throws -> [Artifact] {
        try pool.read { db in
            var filter = Filter()
            filter.add("artifact_type = ?", type?.rawValue)
            filter.add("projects.name = ?", project)
            filter.add("artifacts.job_id = ?", job)
            filter.add("projects.user_id = ?", userID)
            return try Artifact.fetchAll(db, sql: Artifact.listing + filter.sql + " ORDER BY projects.name, file_path LIMIT ?",
                                         arguments: filter.arguments(limit))
        }
    }

    public func artifact(_ id: Int64, userID: Int64?) throws -> Artifact? {
        try pool.read { db in
            var filter = Filter()
            filter.add("artifacts.id = ?", id)
            filter.add("projects.user_id = ?", userID)
            return try Artifact.fetchOne(db, sql: Artifact.selection + filter.sql, arguments: filter.arguments())
        }
    }

    // MARK: - Replay for the streams

    /// Journal rows after `after`, of the given streams, oldest first; a
    /// `userID` limits them to that user's jobs.
    func streamEvents(_ streams: [StreamName], after: Int64, userID: Int64?, limit: Int = 1000) throws -> [Event] {
        try pool.read { db in
            var filter = Self.journal(streams, userID: userID)
            filter.add("id > ?", after)
            return try Row.fetchAll(db, sql: "SELECT * FROM stream_messages" + filter.sql + " ORDER BY id LIMIT ?",
                                    arguments: filter.arguments(limit)).map(Event.init(journalRow:))
        }
    }

    /// The id after which only the last `count` rows of these streams follow
    /// (0 when there are fewer): where a replay of just the recent past starts.
    func journalTail(_ streams: [StreamName], count: Int, userID: Int64?) throws -> Int64 {
        try pool.read { db in
            let filter = Self.journal(streams, userID: userID)
            return try Int64.fetchOne(db, sql: "SELECT id FROM stream_messages" + filter.sql + " ORDER BY id DESC LIMIT 1 OFFSET ?",
                                      arguments: filter.arguments(count)) ?? 0
        }
    }

    /// The rows of these streams a user may see (nil: all).
    private static func journal(_ streams: [StreamName], userID: Int64?) -> Filter {
        var filter = Filter("stream_type IN (" + streams.map { "'\($0.rawValue)'" }.joined(separator: ",") + ")")
        filter.add("job_id IN (SELECT id FROM jobs WHERE user_id = ?)", userID)
        return filter
    }

    /// A job's log lines after `after`, oldest first, as events.
    func logEvents(job: Int64, after: Int64, limit: Int = 1000) throws -> [Event] {
        try logs(job: job, after: after, limit: limit).map {
            Event(id: $0.id, stream: .log, jobID: job, level: $0.level, text: $0.message, timestamp: $0.timestamp, source: $0.source.rawValue)
        }
    }

    /// The user that owns a job, if the job exists.
    func owner(ofJob job: Int64) throws -> Int64? {
        try pool.read { try Int64.fetchOne($0, sql: "SELECT user_id FROM jobs WHERE id = ?", arguments: [job]) }
    }

    // MARK: - Users

    public func user(email: String) throws -> User? {
        try pool.read { db in
            try User.fetchOne(db, sql: "SELECT * FROM users WHERE email = ?", arguments: [email])
        }
    }

    public func user(tokenHash: String) throws -> User? {
        try pool.read { db in
            try User.fetchOne(db, sql: "SELECT * FROM users WHERE token_hash = ?", arguments: [tokenHash])
        }
    }

    // MARK: - Changes

    /// What a job changed, file by file.
    public func changes(job: Int64) throws -> [FileChange] {
        try pool.read { try ChangeWrites.changes($0, job: job) }
    }

    /// The snapshots a job's changes are measured between, once it has started.
    func trees(job: Int64) throws -> (start: String, end: String)? {
        try pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT start_tree, end_tree FROM jobs WHERE id = ?", arguments: [job]),
                  let start: String = row["start_tree"], let end: String = row["end_tree"] else { return nil }
            return (start, end)
        }
    }

    /// Files of `job`'s changes that a later job of the same project changed too.
    func laterChanges(to job: Int64) throws -> [(job: Int64, path: String)] {
        try pool.read { db in
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

    /// The job running in a project now, if any.
    func runningJob(project: String) throws -> Int64? {
        try pool.read { db in
            try Int64.fetchOne(db, sql: """
                SELECT jobs.id FROM jobs JOIN projects ON projects.id = jobs.project_id WHERE projects.name = ? AND jobs.status = 'in_progress'
                """, arguments: [project])
        }
    }

    public func users() throws -> [User] {
        try pool.read { db in try User.fetchAll(db, sql: "SELECT * FROM users WHERE deleted_at IS NULL ORDER BY id") }
    }
}

/// Writes done inside a ``Writer`` unit of work. Only `Store/` knows SQL.
enum Journal {
    /// Inserts a `stream_messages` row and returns its event.
    static func record(_ db: Database, _ stream: StreamName, _ text: String, level: Level = .info,
                       source: String = "system", job: Int64? = nil, payload: String? = nil) throws -> Event {
        let now = Timestamp.now()
        try db.cachedStatement(sql: """
            INSERT INTO stream_messages (stream_type, message_text, source, level, job_id, payload, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [stream.rawValue, text, source, level.rawValue, job, payload, now])
        return Event(id: db.lastInsertedRowID, stream: stream, jobID: job, level: level, text: text, timestamp: now,
                     source: source, payload: payload)
    }

    /// Inserts a `log_entries` row written by the daemon itself and returns its event.
    static func systemLine(_ db: Database, job: Int64, _ message: String, level: Level) throws -> Event {
        let now = Timestamp.now()
        try db.cachedStatement(sql: """
            INSERT INTO log_entries (job_id, message, level, source, timestamp) VALUES (?, ?, ?, 'system', ?)
            """).execute(arguments: [job, message, level.rawValue, now])
        return Event(id: db.lastInsertedRowID, stream: .log, jobID: job, level: level, text: message, timestamp: now)
    }
}
