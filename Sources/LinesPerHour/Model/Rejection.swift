/// Why a job file or request was refused, in one readable line.
public struct Rejection: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The request itself is wrong (a bad name, an unknown key, an empty specification…).
        case invalid
        /// It names a project of another user's, which to that caller must look missing.
        case notYours
        /// Over a size limit.
        case tooLarge
    }

    public let reason: String
    public let kind: Kind
    public init(_ reason: String, kind: Kind = .invalid) {
        self.reason = reason
        self.kind = kind
    }
    public var description: String { reason }
}
