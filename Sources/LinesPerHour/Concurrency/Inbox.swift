import Synchronization

/// The queue of a service that works in batches: producers hand it work
/// without waiting (or, with a high-water mark, wait while it is too full), and
/// the service's one loop takes everything queued so far at once: one
/// transaction for many rows, one write for many lines, one index pass for
/// many file events. `AsyncStream` hands its consumer one element at a time
/// and cannot hold a producer back, so the stages that batch use this, and
/// those that take one request at a time use `AsyncStream`.
///
/// Closing lets the loop drain what is queued, then ends it.
final class Inbox<Element: Sendable>: Sendable {
    private struct State: ~Copyable {
        var items: [Element] = []
        var consumer: CheckedContinuation<Void, Never>?
        /// Producers waiting for the queue to go under the high-water mark.
        var producers: [CheckedContinuation<Void, Never>] = []
        var closing = false
        /// Closed and drained: nothing appended now would ever be taken.
        var finished = false
    }

    private let state = Mutex(State())
    private let batchLimit: Int
    private let highWater: Int

    /// `batchLimit`: most elements a batch holds; `highWater`: queued elements
    /// over which ``appendWhenRoom(_:)`` waits.
    init(batchLimit: Int = .max, highWater: Int = .max) {
        self.batchLimit = batchLimit
        self.highWater = highWater
    }

    // MARK: - Producers

    /// Queues `items`; false once the inbox has finished (they will never be taken).
    @discardableResult
    func append(contentsOf items: some Sequence<Element>) -> Bool {
        state.withLock { s in
            guard !s.finished else { return false }
            s.items.append(contentsOf: items)
            Self.wakeConsumer(&s)
            return true
        }
    }

    /// Queues what fits under `capacity`; returns how many of `items` did not fit.
    func append(_ items: [Element], capacity: Int) -> Int {
        state.withLock { s in
            guard !s.finished else { return items.count }
            let room = max(0, capacity - s.items.count)
            s.items.append(contentsOf: items.prefix(room))
            Self.wakeConsumer(&s)
            return max(0, items.count - room)
        }
    }

    /// Queues `items` once fewer than the high-water mark are queued: a
    /// producer faster than the loop is held back, and memory stays bounded.
    func appendWhenRoom(_ items: [Element]) async {
        while true {
            let admitted = state.withLock { s -> Bool in
                guard s.items.count < highWater || s.finished else { return false }
                if !s.finished { s.items.append(contentsOf: items) }
                Self.wakeConsumer(&s)
                return true
            }
            if admitted { return }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                state.withLock { s in
                    if s.items.count < highWater || s.finished { c.resume() } else { s.producers.append(c) }
                }
            }
        }
    }

    // MARK: - The loop

    /// The next batch, waiting while nothing is queued; nil once closed and
    /// drained. A cancelled consumer (its service group's, when another
    /// service failed) closes the inbox: it drains what is queued, then ends.
    func next() async -> [Element]? {
        await withTaskCancellationHandler {
            await nextBatch()
        } onCancel: {
            close()
        }
    }

    private func nextBatch() async -> [Element]? {
        while true {
            let taken = state.withLock { s -> [Element]?? in
                guard !s.items.isEmpty else {
                    if s.closing { s.finished = true }
                    return s.closing ? .some(nil) : nil
                }
                let batch: [Element]
                if s.items.count <= batchLimit {
                    batch = s.items  // the common case: the whole queue, without copying it
                    s.items.removeAll(keepingCapacity: true)
                } else {
                    batch = Array(s.items.prefix(batchLimit))
                    s.items.removeFirst(batchLimit)
                }
                if s.items.count < highWater { Self.wakeProducers(&s) }
                return .some(batch)
            }
            if let taken { return taken }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                state.withLock { s in
                    if s.items.isEmpty && !s.closing { s.consumer = c } else { c.resume() }
                }
            }
        }
    }

    /// Asks the loop to end once it has taken what is queued.
    func close() {
        state.withLock { s in
            s.closing = true
            Self.wakeConsumer(&s)
        }
    }

    var isClosing: Bool { state.withLock { $0.closing } }

    /// Ends the inbox at once and returns what was still queued (for the loop
    /// to answer), releasing every waiting producer.
    func abandon() -> [Element] {
        state.withLock { s in
            defer {
                s.items.removeAll()
                s.finished = true
                Self.wakeProducers(&s)
            }
            return s.items
        }
    }

    /// Takes the queued items `matching` out of the queue (the others stay, in order) and returns them.
    func remove(matching: (Element) -> Bool) -> [Element] {
        state.withLock { s in
            var taken: [Element] = []
            s.items.removeAll { item in
                guard matching(item) else { return false }
                taken.append(item)
                return true
            }
            if s.items.count < highWater { Self.wakeProducers(&s) }
            return taken
        }
    }

    private static func wakeConsumer(_ s: inout State) {
        s.consumer?.resume()
        s.consumer = nil
    }

    private static func wakeProducers(_ s: inout State) {
        for producer in s.producers { producer.resume() }
        s.producers.removeAll()
    }
}
