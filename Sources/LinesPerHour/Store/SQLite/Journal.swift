import GRDB

/// The journal's rows, written inside a ``Writer`` unit of work.
enum Journal {
    /// Inserts a `stream_messages` row and returns its event. A row about a
    /// job carries the job's user, so who may see it is known without a read.
    static func record(_ db: Database, _ stream: StreamName, _ text: String, level: Level = .info, source: String = "system",
                       job: Int64? = nil, payload: String? = nil, subject: Subject? = nil) throws -> Event {
        let now = Timestamp.now()
        let owner = try job.flatMap { try Int64.fetchOne(db.cachedStatement(sql: "SELECT user_id FROM jobs WHERE id = ?"), arguments: [$0]) }
        try db.cachedStatement(sql: """
            INSERT INTO stream_messages (stream_type, message_text, source, level, job_id, user_id, payload, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [stream.rawValue, text, source, level.rawValue, job, owner, payload, now])
        return Event(id: db.lastInsertedRowID, stream: stream, jobID: job, level: level, text: text, timestamp: now,
                     source: source, payload: payload, userID: owner, subject: subject)
    }

    /// Inserts a `log_entries` row written by the daemon itself and returns its event.
    static func systemLine(_ db: Database, job: Int64, _ message: String, level: Level) throws -> Event {
        let now = Timestamp.now()
        try db.cachedStatement(sql: """
            INSERT INTO log_entries (job_id, message, level, source, timestamp) VALUES (?, ?, ?, 'system', ?)
            """).execute(arguments: [job, message, level.rawValue, now])
        return Event(id: db.lastInsertedRowID, stream: .jobLog, jobID: job, level: level, text: message, timestamp: now)
    }
}
