import GRDB

/// Line credits, in one place: a user with none left is refused a new job,
/// and each measurement of a job's changes charges its user the lines added
/// since the one before (or gives back what is no longer there). What a user
/// out of credits means for a running job (it is stopped) is the change
/// tracker's to act on, told by ``charge(_:user:had:linesAdded:)``.
enum CreditWrites {
    /// Throws the rejection of a request from a user who has no credits left.
    static func requireCredits(_ user: User) throws {
        guard user.lineCredits > 0 else { throw Rejection("user \(user.email) has no line credits left") }
    }

    /// Charges `user`, who had `credits`, for `added` more lines (fewer when
    /// negative); true when the lines went past the credits.
    static func charge(_ db: Database, user: Int64, had credits: Int64, linesAdded added: Int64) throws -> Bool {
        guard added != 0 else { return false }
        try db.execute(sql: "UPDATE users SET line_credits = ? WHERE id = ?", arguments: [max(0, credits - added), user])
        return added > credits
    }
}
