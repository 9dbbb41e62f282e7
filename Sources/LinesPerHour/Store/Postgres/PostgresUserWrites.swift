import PostgresNIO

/// Users and their tokens on PostgreSQL (``UserWrites`` is SQLite's); tokens stored only as hashes.
enum PostgresUserWrites {
    static func create(_ session: PostgresSession, email: String, role: Role, credits: Int64) async throws -> (User, String) {
        let token = Tokens.generate()
        let id = try await session.value("""
            INSERT INTO users (email, role, line_credits, initial_credits, token_hash, created_at)
            VALUES (\(email), \(role.rawValue), \(credits), \(credits), \(Tokens.hash(token)), \(Timestamp.now())) RETURNING id
            """, as: Int64.self) ?? 0
        return (User(id: id, email: email, role: role, lineCredits: credits), token)
    }

    static func setCredits(_ session: PostgresSession, user: Int64, to credits: Int64) async throws -> User? {
        try await session.record("UPDATE users SET line_credits = \(credits), initial_credits = \(credits) WHERE id = \(user) RETURNING *")
    }

    static func setBudget(_ session: PostgresSession, user: Int64, to budget: Double?) async throws -> User? {
        try await session.record("UPDATE users SET budget_usd = \(budget) WHERE id = \(user) RETURNING *")
    }

    static func replaceToken(_ session: PostgresSession, user: Int64) async throws -> (User, String)? {
        let token = Tokens.generate()
        guard let row: User = try await session.record("""
            UPDATE users SET token_hash = \(Tokens.hash(token)) WHERE id = \(user) AND deleted_at IS NULL RETURNING *
            """) else { return nil }
        return (row, token)
    }

    /// As ``UserWrites/delete(_:user:)``: a user who owns projects or jobs stays as their record.
    static func delete(_ session: PostgresSession, user: Int64) async throws -> Bool {
        let deleted = try await session.rows("""
            UPDATE users SET token_hash = NULL, deleted_at = \(Timestamp.now()) WHERE id = \(user) AND deleted_at IS NULL RETURNING id
            """)
        guard !deleted.isEmpty else { return false }
        try await session.rows("""
            DELETE FROM users WHERE id = \(user) AND NOT EXISTS (SELECT 1 FROM projects WHERE user_id = users.id)
            AND NOT EXISTS (SELECT 1 FROM jobs WHERE user_id = users.id)
            """)
        return true
    }
}
