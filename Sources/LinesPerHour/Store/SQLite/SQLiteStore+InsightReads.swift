import GRDB

/// The reads of the observer, the curator and their routes (documented on ``Store``).
extension SQLiteStore {
    func lastErrorLine(job: Int64) async throws -> String? {
        try await read { db in
            try String.fetchOne(db, sql: """
                SELECT message FROM log_entries WHERE job_id = ? AND source = 'agent' AND level IN ('error', 'warning')
                ORDER BY level = 'error' DESC, id DESC LIMIT 1
                """, arguments: [job])
        }
    }

    func recentDurations(limit: Int) async throws -> [Double] {
        try await read { db in
            try Double.fetchAll(db, sql: """
                SELECT (julianday(finished_at) - julianday(started_at)) * 86400 FROM jobs
                WHERE status = 'completed' AND started_at IS NOT NULL ORDER BY id DESC LIMIT ?
                """, arguments: [limit])
        }
    }

    func credits(of email: String) async throws -> (left: Int64, given: Int64)? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT line_credits, initial_credits FROM users WHERE email = ?", arguments: [email])
                .map { ($0[0], $0[1]) }
        }
    }

    func indexedFiles(project: String) async throws -> [IndexedFile] {
        try await read { db in
            try IndexedFile.fetchAll(db, sql: """
                SELECT file_path, artifact_type, line_count FROM artifacts JOIN projects ON projects.id = artifacts.project_id
                WHERE projects.name = ? ORDER BY file_path
                """, arguments: [project])
        }
    }

    func knowledge(project: String, userID: Int64?) async throws -> [Fact]? {
        try await read { db in
            let owner = try Int64.fetchOne(db, sql: "SELECT user_id FROM projects WHERE name = ?", arguments: [project])
            guard let owner, userID == nil || userID == owner else { return nil }
            return try Fact.fetchAll(db, sql: "SELECT * FROM knowledge WHERE subject = ? ORDER BY key", arguments: [project])
        }
    }

    func insights(job: Int64?, userID: Int64?, limit: Int) async throws -> [Event] {
        try await read { db in
            var filter = Filter("stream_type = 'insights'")
            filter.add("job_id = ?", job)
            filter.add("user_id = ?", userID)
            return try Row.fetchAll(db, sql: "SELECT * FROM stream_messages" + filter.sql + " ORDER BY id DESC LIMIT ?",
                                    arguments: filter.arguments(limit)).map(Event.init(journalRow:))
        }
    }
}
