/// What the index records of one entry under `generated_projects/`, read
/// without ever following a symlink (``FileFacts/read(_:)``).
struct FileFacts: Sendable, Equatable {
    enum Kind: String, Sendable, Codable {
        case documentation, code, binary, symlink
        /// An ignored folder, one entry for all of it: its size is the number of files in it.
        case ignored
    }

    var kind: Kind
    var size: Int64
    var lineCount: Int64
    var preview: String?
    var modifiedAt: String
}
