import Synchronization

/// Hands committed batches on at most once per `pace` (asked at each batch):
/// a batch that commits sooner after the last one waits for the rest of the
/// period, and goes with whatever else committed meanwhile; the first after a
/// quiet period goes at once.
final class BatchPacer: Sendable {
    private struct State {
        var waiting: [Event] = []
        var lastSent: ContinuousClock.Instant?
        var flushScheduled = false
    }

    private let pace: @Sendable () -> Duration
    private let deliver: @Sendable ([Event]) -> Void
    private let state = Mutex(State())
    /// Held from taking events to handing them on, so they are handed on in commit order.
    private let handing = Mutex(())

    init(pace: @escaping @Sendable () -> Duration, deliver: @escaping @Sendable ([Event]) -> Void) {
        self.pace = pace
        self.deliver = deliver
    }

    func arrived(_ events: [Event]) {
        handing.withLock { _ in
            switch next(events) {
            case .now: deliver(events)
            case .later(let due): flushLater(at: due)
            case .joined: break
            }
        }
    }

    private enum Next {
        case now
        case later(ContinuousClock.Instant)
        /// A flush is already due: the events go with it.
        case joined
    }

    private func next(_ events: [Event]) -> Next {
        state.withLock { s in
            let now = ContinuousClock.now
            if s.flushScheduled {
                s.waiting += events
                return .joined
            }
            if let last = s.lastSent, case let pace = pace(), now - last < pace {
                s.waiting = events
                s.flushScheduled = true
                return .later(last + pace)
            }
            s.lastSent = now
            return .now
        }
    }

    private func flushLater(at due: ContinuousClock.Instant) {
        Task {
            try? await Task.sleep(until: due)
            handing.withLock { _ in
                let events = state.withLock { s in
                    s.flushScheduled = false
                    s.lastSent = .now
                    defer { s.waiting = [] }
                    return s.waiting
                }
                deliver(events)
            }
        }
    }
}
