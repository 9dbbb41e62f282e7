import PostgresNIO

/// A job's changes on PostgreSQL (``ChangeWrites`` is SQLite's), the line credits they cost, and the curator's facts.
enum PostgresChangeWrites {
    /// Replaces the job's changes with a newer measurement and charges its
    /// user the lines added since the last; true when the user ran out of credits.
    static func record(_ session: PostgresSession, job: Int64, tree: String, _ changes: [FileChange], events: inout [Event]) async throws -> Bool {
        guard let row = try await session.rows("""
            SELECT jobs.lines_written, jobs.lines_removed, jobs.user_id, users.line_credits
            FROM jobs JOIN users ON users.id = jobs.user_id WHERE jobs.id = \(job) FOR UPDATE OF users
            """).first else { return false }
        let (written, removedBefore, user, credits) = try row.decode((Int64, Int64, Int64, Int64).self)
        try await session.rows("DELETE FROM job_changes WHERE job_id = \(job)")
        if !changes.isEmpty {
            try await session.rows("""
                INSERT INTO job_changes (job_id, file_path, old_path, lines_added, lines_removed, change, "binary")
                SELECT \(job), path, nullif(old_path, ''), added, removed, change, is_binary
                FROM unnest(\(changes.map(\.path))::text[], \(changes.map { $0.oldPath ?? "" })::text[], \(changes.map(\.linesAdded))::bigint[],
                            \(changes.map(\.linesRemoved))::bigint[], \(changes.map(\.kind.rawValue))::text[], \(changes.map(\.binary))::boolean[])
                    AS change(path, old_path, added, removed, change, is_binary)
                """)
        }
        let added = changes.reduce(0) { $0 + $1.linesAdded }
        let removed = changes.reduce(0) { $0 + $1.linesRemoved }
        try await session.rows("""
            UPDATE jobs SET lines_written = \(added), lines_removed = \(removed), end_tree = \(tree), updated_at = \(Timestamp.now()) WHERE id = \(job)
            """)
        let delta = added - written
        if delta != 0 {
            try await session.rows("UPDATE users SET line_credits = \(max(0, credits - delta)) WHERE id = \(user)")
        }
        if delta != 0 || removed != removedBefore, let progress = try await PostgresJobWrites.progressEvent(session, job) {
            events.append(progress)
        }
        return delta > 0 && delta > credits
    }

    /// Sets a fact and journals it when its value changed (or it is new).
    static func learn(_ session: PostgresSession, subject: String, key: String, value: String, job: Int64?) async throws -> Event? {
        let old = try await session.value("SELECT value FROM knowledge WHERE subject = \(subject) AND key = \(key)", as: String.self)
        guard old != value else { return nil }
        try await session.rows("""
            INSERT INTO knowledge (subject, key, value, updated_at) VALUES (\(subject), \(key), \(value), \(Timestamp.now()))
            ON CONFLICT (subject, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
            """)
        let payload = "{\"key\":\(JSONText.quote(key)),\"subject\":\(JSONText.quote(subject)),\"value\":\(JSONText.quote(value))}"
        return try await PostgresJournal.record(session, .knowledge, "\(subject): \(key.replacingOccurrences(of: "_", with: " ")) — \(value)",
                                                source: "curator", job: job, payload: payload)
    }
}
