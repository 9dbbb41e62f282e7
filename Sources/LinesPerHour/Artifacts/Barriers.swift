import Glibc
import Synchronization

/// The completion barriers waiting on the artifact index: each a cookie file
/// written into a project, answered once the index has seen it (its event,
/// or a rescan that walked over it) after everything queued before it.
final class Barriers: Sendable {
    private let waiting = Mutex<[String: CheckedContinuation<Bool, Never>]>([:])

    /// Writes the cookie and waits until it is seen (true), or `timeout`
    /// passes or it cannot be written (false). The cookie is removed after.
    func wait(for cookie: String, timeout: Duration) async -> Bool {
        defer { unlink(cookie) }
        let timer = Task { [self] in
            try await Task.sleep(for: timeout)
            answer(cookie, false)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            waiting.withLock { $0[cookie] = c }
            let fd = open(cookie, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 {
                close(fd)
            } else {
                answer(cookie, false)
            }
        }
    }

    /// Answers the barriers of these cookies: the index has seen them.
    func seen(_ cookies: [String]) {
        for cookie in cookies { answer(cookie, true) }
    }

    /// The waited-for cookies that are on disk now (a rescan about to begin counts them as seen when it ends).
    var onDisk: [String] {
        waiting.withLock { Array($0.keys) }.filter { access($0, F_OK) == 0 }
    }

    private func answer(_ cookie: String, _ seen: Bool) {
        waiting.withLock { $0.removeValue(forKey: cookie) }?.resume(returning: seen)
    }
}
