import Foundation
import Glibc

/// The processes a job's agent left behind when it ended.
///
/// Every process an agent starts inherits its environment, which carries a
/// token unique to that run (`LPH_AGENT_RUN`), whatever process group or
/// session it moved to (`setsid`, a double fork, `nohup … &`). When the job
/// ends, for any reason, every process still carrying the token is killed,
/// pass after pass until none is left (one may fork while the pass runs).
/// A process that scrubs its own environment escapes this; a cgroup per job
/// would not, and is where this would go next.
enum Leftovers {
    static let variable = "LPH_AGENT_RUN"

    /// Kills every process carrying `token`; returns how many there were.
    static func kill(run token: String) -> Int {
        let marker = Array("\(variable)=\(token)".utf8)
        var killed: Set<Int32> = []
        for _ in 0..<50 {
            let found = carrying(marker).filter { !killed.contains($0) }
            guard !found.isEmpty else { break }
            for pid in found where Glibc.kill(pid, SIGKILL) == 0 { killed.insert(pid) }
        }
        return killed.count
    }

    /// Processes of this user whose environment holds `marker`, this process excepted.
    private static func carrying(_ marker: [UInt8]) -> [Int32] {
        let me = getpid()
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init)
        return pids.filter { pid in
            guard pid != me, let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            return environ.split(separator: 0).contains { $0.elementsEqual(marker) }
        }
    }
}
