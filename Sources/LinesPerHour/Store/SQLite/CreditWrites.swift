import GRDB

/// Line credits and budgets, in one place: a user with no credits or no
/// budget left is refused a new job; each measurement of a job's changes
/// charges its user the lines added since the one before (or gives back what
/// is no longer there), and each cost the agent reports is taken from the
/// user's budget. What running out means for a running job (it is stopped) is
/// for the change tracker and the executor to act on, told by the `true`
/// these answer.
enum CreditWrites {
    /// Throws the rejection of a request from a user who has no credits or no budget left.
    static func requireCredits(_ user: User) throws {
        guard user.lineCredits > 0 else { throw Rejection("user \(user.email) has no line credits left") }
        if let budget = user.budgetUsd, budget <= 0 { throw Rejection("user \(user.email) has no budget left") }
    }

    /// Takes what the job's agent cost from its user's budget, if they have
    /// one; true when it is spent.
    static func chargeCost(_ db: Database, job: Int64, cost: Double) throws -> Bool {
        guard cost > 0, let user = try Int64.fetchOne(db, sql: "SELECT user_id FROM jobs WHERE id = ?", arguments: [job]) else { return false }
        try db.execute(sql: "UPDATE users SET budget_usd = budget_usd - ? WHERE id = ? AND budget_usd IS NOT NULL", arguments: [cost, user])
        let left = try Double.fetchOne(db, sql: "SELECT budget_usd FROM users WHERE id = ?", arguments: [user])
        return left.map { $0 <= 0 } ?? false
    }

    /// Charges `user`, who had `credits`, for `added` more lines (fewer when
    /// negative); true when the lines went past the credits.
    static func charge(_ db: Database, user: Int64, had credits: Int64, linesAdded added: Int64) throws -> Bool {
        guard added != 0 else { return false }
        try db.execute(sql: "UPDATE users SET line_credits = ? WHERE id = ?", arguments: [max(0, credits - added), user])
        return added > credits
    }
}
