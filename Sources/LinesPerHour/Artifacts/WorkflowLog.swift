import Foundation
import Synchronization

/// One event of a Spec Kit run log: a step started, completed or failed, or the run finished.
struct WorkflowStep: Sendable, Equatable {
    var event: String
    var step: String?
    var type: String?
    var status: String?
    var error: String?

    /// The phase a command step stands for, by the words of its id:
    /// specify/clarify, plan/tasks, implement, test, analyze/converge/review.
    /// Gates are pauses, not phases.
    var phase: Phase? {
        guard event == "step_started", type != "gate", let step else { return nil }
        let words = step.lowercased().split { !$0.isLetter }
        for word in words {
            switch word {
            case "specify", "clarify", "constitution": return .specify
            case "plan", "tasks", "checklist": return .plan
            case "implement": return .implement
            case "test", "tests", "verify": return .test
            case "analyze", "converge", "review": return .review
            default: continue
            }
        }
        return nil
    }

    /// The job log's line for the event.
    var line: (String, Level) {
        let detail = error.map { ": \($0)" } ?? ""
        if event.hasPrefix("workflow_") {
            let outcome = event == "workflow_finished" ? (status ?? "finished") : String(event.dropFirst("workflow_".count))
            return ("Spec Kit: workflow \(outcome)\(detail)", outcome == "completed" ? .info : .error)
        }
        let name = "Spec Kit: step \(step ?? "?")"
        switch event {
        case "step_started": return ("\(name) started", .info)
        case "step_completed": return ("\(name) \(status ?? "completed")", status == "failed" ? .error : .info)
        case "step_failed": return ("\(name) failed\(detail)", .error)
        default: return ("\(name): \(event.replacingOccurrences(of: "_", with: " "))\(detail)", .warning)
        }
    }
}

/// Spec Kit's run logs, `.specify/workflows/runs/<run>/log.jsonl`, read as
/// they grow: each read starts where the last stopped, and only whole lines
/// are taken. A log first seen while no job runs in its project is old
/// history: it is read from its current end.
final class WorkflowLog: Sendable {
    private let offsets = Mutex<[String: Int]>([:])

    static func isRunLog(_ path: String) -> Bool {
        let parts = path.split(separator: "/")
        return parts.count >= 5 && parts.last == "log.jsonl" && parts[parts.count - 3] == "runs"
            && parts[parts.count - 4] == "workflows" && parts[parts.count - 5] == ".specify"
    }

    /// The events appended to the log at `fullPath` since the last call.
    func newSteps(at fullPath: String, following: Bool) -> [WorkflowStep] {
        let fd = open(fullPath, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return [] }
        let size = Int(st.st_size)
        let known = offsets.withLock { $0[fullPath] }
        // A shorter file than last read is a new file under the old name.
        var offset = known.map { $0 <= size ? $0 : 0 } ?? (following ? 0 : size)
        var bytes = [UInt8](repeating: 0, count: size - offset)
        let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
        guard count > 0, let end = bytes[..<count].lastIndex(of: UInt8(ascii: "\n")) else {
            offsets.withLock { $0[fullPath] = offset }
            return []
        }
        offset += end + 1
        offsets.withLock { $0[fullPath] = offset }
        return bytes[...end].split(separator: UInt8(ascii: "\n")).compactMap(Self.step)
    }

    private static func step(_ line: ArraySlice<UInt8>) -> WorkflowStep? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
              let event = object["event"] as? String else { return nil }
        return WorkflowStep(event: event, step: object["step_id"] as? String, type: object["type"] as? String,
                            status: object["status"] as? String, error: object["error"] as? String)
    }
}
