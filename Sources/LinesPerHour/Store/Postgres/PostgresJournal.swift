import PostgresNIO

/// The journal's rows on PostgreSQL, written inside a ``PostgresWriter`` unit of work.
enum PostgresJournal {
    /// Inserts a `stream_messages` row (carrying its job's user) and returns its event.
    static func record(_ session: PostgresSession, _ stream: StreamName, _ text: String, level: Level = .info, source: String = "system",
                       job: Int64? = nil, payload: String? = nil, subject: Subject? = nil) async throws -> Event {
        let now = Timestamp.now()
        let row = try await session.rows("""
            INSERT INTO stream_messages (stream_type, message_text, source, level, job_id, user_id, payload, created_at)
            VALUES (\(stream.rawValue), \(text), \(source), \(level.rawValue), \(job), (SELECT user_id FROM jobs WHERE id = \(job)), \(payload), \(now))
            RETURNING id, user_id
            """)[0]
        let (id, owner) = try row.decode((Int64, Int64?).self)
        return Event(id: id, stream: stream, jobID: job, level: level, text: text, timestamp: now, source: source, payload: payload,
                     userID: owner, subject: subject)
    }

    /// Inserts a `log_entries` row written by the daemon itself and returns its event.
    static func systemLine(_ session: PostgresSession, job: Int64, _ message: String, level: Level) async throws -> Event {
        let now = Timestamp.now()
        let id = try await session.value("""
            INSERT INTO log_entries (job_id, message, level, source, timestamp) VALUES (\(job), \(message), \(level.rawValue), 'system', \(now))
            RETURNING id
            """, as: Int64.self) ?? 0
        return Event(id: id, stream: .jobLog, jobID: job, level: level, text: message, timestamp: now)
    }
}

extension PostgresStore {
    static let journalColumns = "id, stream_type, message_text, source, level, job_id, user_id, payload, created_at"

    /// A `stream_messages` row, selected as ``journalColumns``, as its event.
    static func event(journalRow row: PostgresRow) throws -> Event {
        let (id, stream, text, source, level, job, owner, payload, created) =
            try row.decode((Int64, String, String, String, String, Int64?, Int64?, String?, String).self)
        return Event(id: id, stream: StreamName(rawValue: stream) ?? .logs, jobID: job, level: Level(rawValue: level) ?? .info, text: text,
                     timestamp: created, source: source, payload: payload, userID: owner)
    }
}
