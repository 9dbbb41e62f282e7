import Synchronization

/// One subscriber's window on the committed events: the ones its filter
/// keeps, buffered up to `capacity`. A subscriber that falls further behind
/// is told it overflowed (and its buffer is dropped), and catches up from the
/// database, where every published event already is: memory stays bounded
/// and nothing is lost.
final class EventFeed: Sendable {
    enum Delivery: Sendable {
        case events([Event])
        /// Events were dropped: read the database after the last id sent.
        case overflowed
        /// Nothing arrived within the wait: time for a heartbeat.
        case idle
        /// The daemon is shutting down: end the stream.
        case closed
    }

    private struct State {
        var buffer: [Event] = []
        var overflowed = false
        var closed = false
        var waiter: CheckedContinuation<Delivery, Never>?
        var generation = 0
    }

    private let broadcaster: Broadcaster
    private let state = Mutex(State())
    private let capacity: Int
    private let filter: @Sendable (Event) -> Bool
    private let token: Mutex<Int?> = Mutex(nil)

    /// Subscribes at once, so nothing published after this returns is missed.
    init(_ broadcaster: Broadcaster, capacity: Int = 10_000, filter: @escaping @Sendable (Event) -> Bool) {
        self.broadcaster = broadcaster
        self.capacity = capacity
        self.filter = filter
        let id = broadcaster.subscribe { [weak self] events in self?.receive(events) }
        token.withLock { $0 = id }
    }

    private func receive(_ events: [Event]) {
        let kept = events.filter(filter)
        guard !kept.isEmpty else { return }
        state.withLock { s in
            if s.overflowed { return }
            if s.buffer.count + kept.count > capacity {
                s.buffer.removeAll()
                s.overflowed = true
            } else {
                s.buffer += kept
            }
            if let waiter = s.waiter {
                s.waiter = nil
                waiter.resume(returning: Self.take(&s))
            }
        }
    }

    /// Ends the feed: the waiting (and every later) ``next(idle:)`` returns `.closed`.
    func close() {
        state.withLock { s in
            s.closed = true
            s.waiter?.resume(returning: .closed)
            s.waiter = nil
        }
    }

    deinit {
        if let id = token.withLock({ $0 }) { broadcaster.unsubscribe(id) }
    }

    /// The next events, an overflow, or `.idle` after `idle` without any (or
    /// at once when the task is cancelled: a client that left frees its feed now).
    func next(idle: Duration) async -> Delivery {
        await withTaskCancellationHandler {
            await wait(idle: idle)
        } onCancel: {
            state.withLock { s in
                s.waiter?.resume(returning: .idle)
                s.waiter = nil
            }
        }
    }

    private func wait(idle: Duration) async -> Delivery {
        await withCheckedContinuation { (c: CheckedContinuation<Delivery, Never>) in
            if Task.isCancelled {
                c.resume(returning: .idle)
                return
            }
            let generation = state.withLock { s -> Int? in
                if s.closed || s.overflowed || !s.buffer.isEmpty {
                    c.resume(returning: Self.take(&s))
                    return nil
                }
                s.generation += 1
                s.waiter = c
                return s.generation
            }
            guard let generation else { return }
            Task { [weak self] in
                try? await Task.sleep(for: idle)
                self?.state.withLock { s in
                    guard s.generation == generation, let waiter = s.waiter else { return }
                    s.waiter = nil
                    waiter.resume(returning: .idle)
                }
            }
        }
    }

    private static func take(_ s: inout State) -> Delivery {
        if s.closed { return .closed }
        if s.overflowed {
            s.overflowed = false
            return .overflowed
        }
        defer { s.buffer.removeAll(keepingCapacity: true) }
        return .events(s.buffer)
    }
}
