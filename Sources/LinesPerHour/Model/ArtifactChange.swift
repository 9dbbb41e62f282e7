/// One change to the artifact index, as the indexer saw it on disk.
struct ArtifactChange: Sendable {
    enum Kind: Sendable {
        /// The file is (now) at `path` with these facts, and what it shows of the job writing it.
        case present(FileFacts, FileEvidence)
        /// Nothing is at `path` any more.
        case absent
        /// Nothing is under the folder `path` any more.
        case absentTree
        /// The file moved here from `from` (same project); its facts are re-read.
        case moved(from: String, FileFacts, FileEvidence)
        /// The folder moved here from `from` (same project).
        case movedTree(from: String)
        /// A Spec Kit run log at `path` told of these steps.
        case workflow([WorkflowNote])
    }

    var project: String
    /// Relative to the project's folder.
    var path: String
    var kind: Kind

    /// A file written (new or changed contents), as opposed to removed, moved or ignored.
    var isWritten: Bool {
        switch kind {
        case .present(let facts, _): facts.kind != .ignored && facts.kind != .symlink
        default: false
        }
    }
}
