/// What a user may do: an admin sees and manages everyone's jobs and users.
public enum Role: String, Sendable, Codable {
    case admin, user
}

/// A row of `users`, without its token hash.
public struct User: Sendable, Codable, Equatable {
    public var id: Int64
    public var email: String
    public var role: Role
    public var lineCredits: Int64
    /// What the agents of the user's jobs may still cost, in US dollars (nil: no budget).
    public var budgetUsd: Double? = nil

    /// Whose rows this user may see, as the store's `userID:` filters take it:
    /// their own id, or nil (everyone's) for an admin.
    public var visibleOwner: Int64? { role == .admin ? nil : id }
}
