import Synchronization

/// Hands committed batches on at most once per `pace` (asked at each batch):
/// a batch that commits sooner after the last one waits for the rest of the
/// period, and goes with whatever else committed meanwhile; the first after a
/// quiet period goes at once.
final class BatchPacer: Sendable {
    private struct State {
        /// Events waiting for the flush that is due (none: no flush is due).
        var waiting: [Event] = []
        var lastSent: ContinuousClock.Instant?
    }

    private let pace: @Sendable () -> Duration
    private let deliver: @Sendable ([Event]) -> Void
    /// Held while events are handed on too, so they are handed on in commit order.
    private let state = Mutex(State())

    init(pace: @escaping @Sendable () -> Duration, deliver: @escaping @Sendable ([Event]) -> Void) {
        self.pace = pace
        self.deliver = deliver
    }

    func arrived(_ events: [Event]) {
        guard !events.isEmpty else { return }
        state.withLock { s in
            let now = ContinuousClock.now
            if !s.waiting.isEmpty {
                s.waiting += events
            } else if let last = s.lastSent, case let pace = pace(), now - last < pace {
                s.waiting = events
                flushLater(at: last + pace)
            } else {
                s.lastSent = now
                deliver(events)
            }
        }
    }

    private func flushLater(at due: ContinuousClock.Instant) {
        Task {
            try? await Task.sleep(until: due)
            state.withLock { s in
                s.lastSent = .now
                deliver(s.waiting)
                s.waiting = []
            }
        }
    }
}
