import Foundation

/// What the files under `generated_projects/` say, as changes to the index: a
/// file's facts and what it shows of its job's progress, a Spec Kit run log's
/// new steps, an ignored folder's one entry. It reads the disk, never the
/// database; the ``ArtifactIndex`` decides when to read and what to commit.
struct ArtifactReader: Sendable {
    let root: String
    /// Project → the job running in it now (the executor's).
    let runningJobs: @Sendable () -> [String: Int64]
    private let workflowLogs = WorkflowLog()

    init(root: String, runningJobs: @escaping @Sendable () -> [String: Int64]) {
        self.root = root
        self.runningJobs = runningJobs
    }

    /// `project` and the path inside it, for a path under the root.
    /// (Byte by byte: a rescan asks it for every file.)
    func locate(_ path: String) -> (project: String, path: String)? {
        let bytes = path.utf8
        guard bytes.count > root.utf8.count, bytes.starts(with: root.utf8) else { return nil }
        let slash = bytes.index(bytes.startIndex, offsetBy: root.utf8.count)
        guard bytes[slash] == UInt8(ascii: "/") else { return nil }
        let start = bytes.index(after: slash)
        let end = bytes[start...].firstIndex(of: UInt8(ascii: "/")) ?? bytes.endIndex
        let project = String(path[start..<end])
        guard ProjectName.isValid(project) else { return nil }
        return (project, end == bytes.endIndex ? "" : String(path[bytes.index(after: end)...]))
    }

    /// A file as it is now, and, for a Spec Kit run log, the events appended to it.
    func observed(_ fullPath: String, project: String, path: String) -> [ArtifactChange] {
        let file = present(fullPath, project: project, path: path)
        guard WorkflowLog.isRunLog(path) else { return [file] }
        let steps = workflowLogs.newSteps(at: fullPath, following: runningJobs()[project] != nil)
        let notes = steps.map { step in WorkflowNote(line: step.line.0, level: step.line.1, phase: step.phase) }
        return notes.isEmpty ? [file] : [file, ArtifactChange(project: project, path: path, kind: .workflow(notes))]
    }

    private func present(_ fullPath: String, project: String, path: String) -> ArtifactChange {
        guard let facts = FileFacts.read(fullPath) else { return ArtifactChange(project: project, path: path, kind: .absent) }
        return ArtifactChange(project: project, path: path, kind: .present(facts, evidence(fullPath, path, facts)))
    }

    func moved(from oldPath: String, to fullPath: String, project: String, path: String) -> ArtifactChange {
        guard let facts = FileFacts.read(fullPath) else { return ArtifactChange(project: project, path: oldPath, kind: .absent) }
        return ArtifactChange(project: project, path: path, kind: .moved(from: oldPath, facts, evidence(fullPath, path, facts)))
    }

    /// What the file shows of its job's progress; nothing for a tool's state (`.specify/`), which is not the agent's work.
    private func evidence(_ fullPath: String, _ path: String, _ facts: FileFacts) -> FileEvidence {
        guard !PhaseEvidence.isToolState(path) else { return .none }
        let tasks = tasks(fullPath, facts)
        return FileEvidence(tasks: tasks, phase: PhaseEvidence.phase(path: path, kind: facts.kind, tasks: tasks))
    }

    private func tasks(_ fullPath: String, _ facts: FileFacts) -> TaskCount? {
        guard fullPath.fileName.lowercased() == "tasks.md", facts.kind != .binary, facts.kind != .symlink,
              facts.size <= Int64(Limits.maxSpecification), let text = FileFacts.text(fullPath) else { return nil }
        return PhaseEvidence.tasks(in: text)
    }

    /// The one entry of an ignored folder: `node_modules/`, with how many files it holds.
    func ignoredEntry(_ folder: String) -> [ArtifactChange] {
        guard let (project, path) = locate(folder), !path.isEmpty, let facts = FileFacts.ignoredFolder(folder) else { return [] }
        return [ArtifactChange(project: project, path: path + "/", kind: .present(facts, .none))]
    }
}
