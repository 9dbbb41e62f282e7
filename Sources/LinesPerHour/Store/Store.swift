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
        pool = try DatabasePool(path: path, configuration: configuration)
        try Schema.migrator.migrate(pool)
    }

    // MARK: - Jobs

    public func job(_ id: Int64) throws -> Job? {
        try pool.read { db in
            try Job.fetchOne(db, sql: Job.selection + " WHERE jobs.id = ?", arguments: [id])
        }
    }

    public func jobs(status: JobStatus? = nil, project: String? = nil, userID: Int64? = nil, limit: Int = 500) throws -> [Job] {
        try pool.read { db in
            var clauses: [String] = []
            var arguments = StatementArguments()
            if let status { clauses.append("jobs.status = ?"); _ = arguments.append(contentsOf: [status.rawValue]) }
            if let project { clauses.append("projects.name = ?"); _ = arguments.append(contentsOf: [project]) }
            if let userID { clauses.append("jobs.user_id = ?"); _ = arguments.append(contentsOf: [userID]) }
            let filter = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
            return try Job.fetchAll(db, sql: Job.selection + filter + " ORDER BY jobs.id DESC LIMIT ?",
                                    arguments: arguments + [limit])
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

    // MARK: - Logs

    public func logs(job: Int64, after: Int64 = 0, limit: Int = 1000) throws -> [LogEntry] {
        try pool.read { db in
            try LogEntry.fetchAll(db, sql: """
                SELECT * FROM log_entries WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?
                """, arguments: [job, after, limit])
        }
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

    public func users() throws -> [User] {
        try pool.read { db in try User.fetchAll(db, sql: "SELECT * FROM users ORDER BY id") }
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
        return Event(id: db.lastInsertedRowID, stream: stream, jobID: job, level: level, text: text, timestamp: now, payload: payload)
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
