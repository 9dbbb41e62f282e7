import Synchronization

/// One subscriber's window on the committed events: the ones its filter
/// keeps, buffered up to `capacity`. A subscriber that falls further behind
/// is told it overflowed (and its buffer is dropped), and catches up from the
/// database, where every published event already is: memory stays bounded
/// and nothing is lost.
final class EventFeed: Sendable {
    /// The events of one batch a subscriber keeps, by their places in it (in order):
    /// one reference to the batch, whose frames every feed shares.
    struct Kept: Sendable {
        let batch: FramedBatch
        let indices: [Int]

        func contains(where predicate: (Event) -> Bool) -> Bool {
            indices.contains { predicate(batch.events[$0]) }
        }

        func filter(_ isIncluded: (Event) -> Bool) -> Kept {
            Kept(batch: batch, indices: indices.filter { isIncluded(batch.events[$0]) })
        }

        /// The kept events after id `last`, as runs of neighbours in the batch (each one slice of its frames).
        func runs(after last: Int64) -> [Range<Int>] {
            var runs: [Range<Int>] = []
            for index in indices where batch.events[index].id > last {
                if let run = runs.last, run.upperBound == index {
                    runs[runs.count - 1] = run.lowerBound..<index + 1
                } else {
                    runs.append(index..<index + 1)
                }
            }
            return runs
        }
    }

    enum Delivery: Sendable {
        case events([Kept])
        /// Events were dropped: read the database after the last id sent.
        case overflowed
        /// Nothing was delivered for a whole heartbeat period.
        case idle
        /// The daemon is shutting down: end the stream.
        case closed
    }

    private struct State {
        var buffer: [Kept] = []
        /// Events in `buffer`.
        var count = 0
        var overflowed = false
        var closed = false
        var waiter: CheckedContinuation<Delivery, Never>?
        /// When the stream last wrote to its client (bytes, or a heartbeat): the next heartbeat is due `idle` after it.
        var lastWrite = ContinuousClock.now
    }

    private let hub: StreamHub
    private let state = Mutex(State())
    private let capacity: Int
    private let filter: @Sendable (Event) -> Bool
    private let idle: Duration
    private let token: Mutex<Int?> = Mutex(nil)

    /// Subscribes at once, so nothing published after this returns is missed.
    /// Says `.idle` once the stream was quiet for `idle` (within the hub's tick).
    init(_ hub: StreamHub, capacity: Int = 10_000, idle: Duration, filter: @escaping @Sendable (Event) -> Bool) {
        self.hub = hub
        self.capacity = capacity
        self.idle = idle
        self.filter = filter
        let id = hub.subscribe { [weak self] signal in
            switch signal {
            case .batch(let batch): self?.receive(batch)
            case .tick(let now): self?.tick(now)
            }
        }
        token.withLock { $0 = id }
    }

    deinit {
        if let id = token.withLock({ $0 }) { hub.unsubscribe(id) }
    }

    private func receive(_ batch: FramedBatch) {
        let indices = batch.events.indices.filter { filter(batch.events[$0]) }
        guard !indices.isEmpty else { return }
        state.withLock { s in
            if s.overflowed { return }
            // The capacity bounds what waits: one batch larger than it (a long pace) is taken whole.
            if !s.buffer.isEmpty && s.count + indices.count > capacity {
                s.buffer.removeAll()
                s.count = 0
                s.overflowed = true
            } else {
                s.buffer.append(Kept(batch: batch, indices: indices))
                s.count += indices.count
            }
            if let waiter = s.waiter {
                s.waiter = nil
                waiter.resume(returning: Self.take(&s))
            }
        }
    }

    /// Whether a ``next()`` is waiting.
    var isWaiting: Bool { state.withLock { $0.waiter != nil } }

    /// The stream wrote to its client: the next heartbeat is due a whole `idle` from now.
    /// (Not every delivery is written: a job's log stream reads its job's status events and sends none.)
    func wrote(at now: ContinuousClock.Instant = .now) {
        state.withLock { $0.lastWrite = now }
    }

    /// A stream that is writing needs no heartbeat; one waiting gets it `idle` after its last write.
    func tick(_ now: ContinuousClock.Instant) {
        state.withLock { s in
            guard let waiter = s.waiter, now - s.lastWrite >= idle else { return }
            s.waiter = nil
            s.lastWrite = now
            waiter.resume(returning: .idle)
        }
    }

    /// Ends the feed: the waiting (and every later) ``next()`` returns `.closed`.
    func close() {
        state.withLock { s in
            s.closed = true
            s.waiter?.resume(returning: .closed)
            s.waiter = nil
        }
    }

    /// The next events, an overflow, `.idle` after a quiet heartbeat period, or
    /// `.closed`; at once when the task is cancelled (a client that left frees its feed now).
    func next() async -> Delivery {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Delivery, Never>) in
                state.withLock { s in
                    if Task.isCancelled {
                        c.resume(returning: .closed)
                    } else if s.closed || s.overflowed || !s.buffer.isEmpty {
                        c.resume(returning: Self.take(&s))
                    } else {
                        s.waiter = c
                    }
                }
            }
        } onCancel: {
            state.withLock { s in
                s.waiter?.resume(returning: .closed)
                s.waiter = nil
            }
        }
    }

    private static func take(_ s: inout State) -> Delivery {
        if s.closed { return .closed }
        if s.overflowed {
            s.overflowed = false
            return .overflowed
        }
        defer {
            s.buffer.removeAll(keepingCapacity: true)
            s.count = 0
        }
        return .events(s.buffer)
    }
}
