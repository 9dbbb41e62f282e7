import Foundation

/// What files reveal about a job's progress, for agents that print little:
/// the phase a file shows has been reached, and the task count of `tasks.md`.
enum PhaseEvidence {
    static func phase(path: String, kind: FileFacts.Kind, tasks: TaskCount?) -> Phase? {
        let name = path.fileName.lowercased()
        switch name {
        case "spec.md": return .specify
        case "plan.md": return .plan
        case "tasks.md": return (tasks?.done ?? 0) > 0 ? .implement : .plan
        default: break
        }
        guard kind == .code else { return nil }
        return isTest(path) ? .test : .implement
    }

    /// A hidden file or one in a hidden folder: a tool's state or scaffolding
    /// (`.specify/`, `.claude/`, `.git/`), indexed but not the agent's work.
    static func isToolState(_ path: String) -> Bool {
        path.hasPrefix(".") || path.contains("/.")
    }

    static func isTest(_ path: String) -> Bool {
        let components = path.split(separator: "/")
        if components.dropLast().contains(where: { ["test", "tests", "__tests__"].contains($0.lowercased()) }) { return true }
        let stem = ((components.last.map(String.init) ?? "") as NSString).deletingPathExtension
        let lower = stem.lowercased()
        return lower.hasPrefix("test_") || lower.hasSuffix("_test") || lower.hasSuffix(".test") || lower.hasSuffix(".spec")
            || stem.hasSuffix("Tests") || stem.hasSuffix("Test")
    }

    /// The checked (`- [x]`, `- [X]`) and all (`- [ ]` too) tasks of a `tasks.md`.
    static func tasks(in text: String) -> TaskCount {
        var count = TaskCount(done: 0, total: 0)
        for line in text.split(separator: "\n") {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            guard trimmed.hasPrefix("- [") || trimmed.hasPrefix("* ["), trimmed.count >= 5 else { continue }
            let mark = trimmed[trimmed.index(trimmed.startIndex, offsetBy: 3)]
            guard trimmed[trimmed.index(trimmed.startIndex, offsetBy: 4)] == "]" else { continue }
            switch mark {
            case "x", "X": count.done += 1; count.total += 1
            case " ": count.total += 1
            default: break
            }
        }
        return count
    }
}
