import Metrics

/// Hands committed events to whoever listens, in commit order.
///
/// The store's writer calls ``publish(_:)`` once per committed batch, on its own
/// path: handlers must return at once (queue the events and do their work
/// elsewhere). A slow subscriber is the subscriber's problem, never the
/// writer's.
final class Broadcaster: Sendable {
    private let subscribers = Subscribers<[Event]>()
    private let broadcast = Counter(label: "lph_events_broadcast_total")

    /// Registers a handler; keep the returned token to unsubscribe.
    func subscribe(_ handler: @escaping Subscribers<[Event]>.Handler) -> Int {
        subscribers.add(handler)
    }

    func unsubscribe(_ token: Int) {
        subscribers.remove(token)
    }

    func publish(_ events: [Event]) {
        guard !events.isEmpty else { return }
        broadcast.increment(by: events.count)
        subscribers.send { events }
    }
}
