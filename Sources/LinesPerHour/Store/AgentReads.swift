import GRDB

/// A knowledge fact: what the curator knows of a subject (a project), one key at a time.
public struct Fact: Sendable, Codable, Equatable, FetchableRecord {
    public var subject: String
    public var key: String
    public var value: String
    public var updatedAt: String

    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

/// One indexed file as the curator weighs it.
struct IndexedFile: Sendable, FetchableRecord {
    var path: String
    var type: String
    var lines: Int64

    init(row: Row) throws {
        path = row["file_path"]
        type = row["artifact_type"]
        lines = row["line_count"]
    }
}

/// The reads of the observer, the curator and their routes.
extension Store {
    /// The last line the job's agent said was an error, else its last line on stderr.
    func lastErrorLine(job: Int64) throws -> String? {
        try pool.read { db in
            try String.fetchOne(db, sql: """
                SELECT message FROM log_entries WHERE job_id = ? AND source = 'agent' AND level IN ('error', 'warning')
                ORDER BY level = 'error' DESC, id DESC LIMIT 1
                """, arguments: [job])
        }
    }

    /// How long the most recent finished jobs ran, in seconds, newest first.
    func recentDurations(limit: Int = 10) throws -> [Double] {
        try pool.read { db in
            try Double.fetchAll(db, sql: """
                SELECT (julianday(finished_at) - julianday(started_at)) * 86400 FROM jobs
                WHERE status = 'completed' AND started_at IS NOT NULL ORDER BY id DESC LIMIT ?
                """, arguments: [limit])
        }
    }

    /// A user's line credits now and what they were last given.
    func credits(of email: String) throws -> (left: Int64, given: Int64)? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT line_credits, initial_credits FROM users WHERE email = ?", arguments: [email])
                .map { ($0[0], $0[1]) }
        }
    }

    func indexedFiles(project: String) throws -> [IndexedFile] {
        try pool.read { db in
            try IndexedFile.fetchAll(db, sql: """
                SELECT file_path, artifact_type, line_count FROM artifacts JOIN projects ON projects.id = artifacts.project_id
                WHERE projects.name = ? ORDER BY file_path
                """, arguments: [project])
        }
    }

    /// The project's facts, if `userID` (nil for an admin) may see the project.
    public func knowledge(project: String, userID: Int64?) throws -> [Fact]? {
        try pool.read { db in
            let owner = try Int64.fetchOne(db, sql: "SELECT user_id FROM projects WHERE name = ?", arguments: [project])
            guard let owner, userID == nil || userID == owner else { return nil }
            return try Fact.fetchAll(db, sql: "SELECT * FROM knowledge WHERE subject = ? ORDER BY key", arguments: [project])
        }
    }

    /// Insights, newest first; of one job, and of `userID`'s jobs only unless nil (an admin).
    public func insights(job: Int64?, userID: Int64?, limit: Int = 500) throws -> [Event] {
        var filter = Filter("stream_type = 'insights'")
        filter.add("job_id = ?", job)
        filter.add("job_id IN (SELECT id FROM jobs WHERE user_id = ?)", userID)
        return try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM stream_messages" + filter.sql + " ORDER BY id DESC LIMIT ?",
                             arguments: filter.arguments(limit)).map(Event.init(journalRow:))
        }
    }
}

extension Event {
    init(journalRow row: Row) {
        self.init(id: row["id"], stream: StreamName(rawValue: row["stream_type"]) ?? .logs, jobID: row["job_id"],
                  level: Level(rawValue: row["level"]) ?? .info, text: row["message_text"], timestamp: row["created_at"],
                  source: row["source"], payload: row["payload"])
    }
}

/// The curator's writes.
enum KnowledgeWrites {
    /// Sets a fact; true when its value changed (or it is new).
    static func set(_ db: Database, subject: String, key: String, value: String) throws -> Bool {
        let old = try String.fetchOne(db, sql: "SELECT value FROM knowledge WHERE subject = ? AND key = ?", arguments: [subject, key])
        guard old != value else { return false }
        try db.execute(sql: """
            INSERT INTO knowledge (subject, key, value, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (subject, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
            """, arguments: [subject, key, value, Timestamp.now()])
        return true
    }
}
