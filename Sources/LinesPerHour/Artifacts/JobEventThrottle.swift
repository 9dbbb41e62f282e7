import Synchronization

/// At most one `jobs` stream row per job per window, however many files it writes.
final class JobEventThrottle: Sendable {
    static let window: Duration = .milliseconds(250)
    private let state = Mutex<(last: [Int64: ContinuousClock.Instant], pending: Set<Int64>, flushScheduled: Bool)>(([:], [], false))

    /// The jobs to report now; the others wait for the next flush.
    func due(_ jobs: Set<Int64>, flushPending: Bool) -> [Int64] {
        let now = ContinuousClock.now
        return state.withLock { s in
            var due: [Int64] = []
            if flushPending {
                due = Array(s.pending)
                s.pending.removeAll()
                s.flushScheduled = false
            }
            for job in jobs where !due.contains(job) {
                if let last = s.last[job], now - last < Self.window {
                    s.pending.insert(job)
                } else {
                    due.append(job)
                    s.pending.remove(job)
                }
            }
            for job in due { s.last[job] = now }
            return due
        }
    }

    /// True once per window while some job waits to be reported.
    func needsFlush() -> Bool {
        state.withLock { s in
            guard !s.pending.isEmpty, !s.flushScheduled else { return false }
            s.flushScheduled = true
            return true
        }
    }
}
