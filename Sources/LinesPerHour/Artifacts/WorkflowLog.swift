import Foundation
import Synchronization

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
        (try? RegularFile.withOpened(fullPath) { fd, st in newSteps(fd, st, at: fullPath, following: following) }) ?? []
    }

    private func newSteps(_ fd: Int32, _ st: stat, at fullPath: String, following: Bool) -> [WorkflowStep] {
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
