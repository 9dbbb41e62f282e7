import Synchronization

/// One pending wake-up of a service's loop, at a time the database says (a
/// retry's `run_after`, a delivery's next attempt) or after a wait: setting a
/// new one replaces the old, so a loop never holds more than one timer.
final class WakeTimer: Sendable {
    private let wake: @Sendable () -> Void
    private let timer = Mutex<Task<Void, Never>?>(nil)

    init(_ wake: @escaping @Sendable () -> Void) {
        self.wake = wake
    }

    /// Wakes at `timestamp` (an ISO-8601 ``Timestamp``), or at once if it has passed.
    func wake(at timestamp: String) {
        guard let at = Timestamp.milliseconds(timestamp), let now = Timestamp.milliseconds(Timestamp.now()) else { return }
        wake(after: .milliseconds(max(0, at - now)))
    }

    func wake(after wait: Duration) {
        let next = Task { [wake] in
            guard (try? await Task.sleep(for: wait)) != nil else { return }
            wake()
        }
        timer.withLock { previous in
            previous?.cancel()
            previous = next
        }
    }

    func cancel() {
        timer.withLock { $0?.cancel() }
    }
}
