import Metrics
import Synchronization

/// Hands committed events to whoever listens, in commit order.
///
/// The ``Writer`` calls ``publish(_:)`` once per committed batch, on its own
/// path: handlers must return at once (queue the events and do their work
/// elsewhere). A slow subscriber is the subscriber's problem, never the
/// writer's.
public final class Broadcaster: Sendable {
    public typealias Handler = @Sendable ([Event]) -> Void

    private let handlers = Mutex<(next: Int, all: [Int: Handler])>((0, [:]))
    private let broadcast = Counter(label: "lph_events_broadcast_total")

    public init() {}

    /// Registers a handler; keep the returned token to unsubscribe.
    public func subscribe(_ handler: @escaping Handler) -> Int {
        handlers.withLock { h in
            h.next += 1
            h.all[h.next] = handler
            return h.next
        }
    }

    public func unsubscribe(_ token: Int) {
        _ = handlers.withLock { $0.all.removeValue(forKey: token) }
    }

    public func publish(_ events: [Event]) {
        guard !events.isEmpty else { return }
        broadcast.increment(by: events.count)
        let current = handlers.withLock { Array($0.all.values) }
        for handler in current { handler(events) }
    }
}
