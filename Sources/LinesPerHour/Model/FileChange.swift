/// How one file differs between a job's start and its end.
public struct FileChange: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case added, modified, deleted, renamed
    }

    public var path: String
    /// The file's path at the job's start, for a rename.
    public var oldPath: String?
    public var kind: Kind
    public var linesAdded: Int64
    public var linesRemoved: Int64
    /// Binary files are listed but never counted.
    public var binary: Bool
}
