import GRDB

/// Users and their tokens. Tokens are random, shown once, and stored only as
/// SHA-256 hashes (``Tokens``).
enum UserWrites {
    /// Creates a user and returns it with its new token.
    static func create(_ db: Database, email: String, role: Role, credits: Int64) throws -> (User, String) {
        let token = Tokens.generate()
        try db.execute(sql: """
            INSERT INTO users (email, role, line_credits, initial_credits, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)
            """, arguments: [email, role.rawValue, credits, credits, Tokens.hash(token), Timestamp.now()])
        return (User(id: db.lastInsertedRowID, email: email, role: role, lineCredits: credits), token)
    }

    /// Sets a user's credits (and the figure low-credit warnings compare with); nil if no such user.
    static func setCredits(_ db: Database, user: Int64, to credits: Int64) throws -> User? {
        try db.execute(sql: "UPDATE users SET line_credits = ?, initial_credits = ? WHERE id = ?", arguments: [credits, credits, user])
        return try User.fetchOne(db, sql: "SELECT * FROM users WHERE id = ?", arguments: [user])
    }

    /// Sets what a user's agents may still cost (nil: no budget); nil if no such user.
    static func setBudget(_ db: Database, user: Int64, to budget: Double?) throws -> User? {
        try db.execute(sql: "UPDATE users SET budget_usd = ? WHERE id = ?", arguments: [budget, user])
        return try User.fetchOne(db, sql: "SELECT * FROM users WHERE id = ?", arguments: [user])
    }

    /// A new token for the user (the old hash is replaced, so the old token is refused from now on); nil if no such user.
    static func replaceToken(_ db: Database, user: Int64) throws -> (User, String)? {
        let token = Tokens.generate()
        try db.execute(sql: "UPDATE users SET token_hash = ? WHERE id = ? AND deleted_at IS NULL", arguments: [Tokens.hash(token), user])
        guard db.changesCount > 0, let row = try User.fetchOne(db, sql: "SELECT * FROM users WHERE id = ?", arguments: [user]) else { return nil }
        return (row, token)
    }

    /// Deletes a user: their token stops working at once. A user who owns
    /// projects or jobs stays as the record of who ran them (not listed, not
    /// able to sign in); one who owns nothing is removed. False if no such user.
    static func delete(_ db: Database, user: Int64) throws -> Bool {
        try db.execute(sql: "UPDATE users SET token_hash = NULL, deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                       arguments: [Timestamp.now(), user])
        guard db.changesCount > 0 else { return false }
        try db.execute(sql: """
            DELETE FROM users WHERE id = ? AND NOT EXISTS (SELECT 1 FROM projects WHERE user_id = users.id)
            AND NOT EXISTS (SELECT 1 FROM jobs WHERE user_id = users.id)
            """, arguments: [user])
        return true
    }

    static func hasAdmin(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin')") ?? false
    }
}
