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

    private typealias Handlers = (next: Int, all: [Int: Handler], framed: [Int: FramedHandler])
    private let handlers = Mutex<Handlers>((0, [:], [:]))
    private let broadcast = Counter(label: "lph_events_broadcast_total")

    public init() {}

    /// Registers a handler; keep the returned token to unsubscribe.
    public func subscribe(_ handler: @escaping Handler) -> Int {
        register { $0.all[$1] = handler }
    }

    typealias FramedHandler = @Sendable (FramedBatch) -> Void

    /// Registers a handler for the event streams: it gets each batch with its
    /// SSE frames, encoded once for all the streams that send them.
    func subscribeFramed(_ handler: @escaping FramedHandler) -> Int {
        register { $0.framed[$1] = handler }
    }

    private func register(_ add: (inout Handlers, Int) -> Void) -> Int {
        handlers.withLock { h in
            h.next += 1
            add(&h, h.next)
            return h.next
        }
    }

    public func unsubscribe(_ token: Int) {
        handlers.withLock { h in
            h.all[token] = nil
            h.framed[token] = nil
        }
    }

    public func publish(_ events: [Event]) {
        guard !events.isEmpty else { return }
        broadcast.increment(by: events.count)
        let (plain, framed) = handlers.withLock { (Array($0.all.values), Array($0.framed.values)) }
        for handler in plain { handler(events) }
        guard !framed.isEmpty else { return }
        let batch = FramedBatch(events)
        for handler in framed { handler(batch) }
    }
}

/// A committed batch for the event streams. Its SSE frames are encoded once,
/// on first use, however many clients send them.
final class FramedBatch: Sendable {
    let events: [Event]
    private let encoded = Mutex<[String]?>(nil)

    init(_ events: [Event]) {
        self.events = events
    }

    /// Every event's frame, in order.
    var frames: [String] {
        encoded.withLock { frames in
            if let frames { return frames }
            let made = events.map(\.sseFrame)
            frames = made
            return made
        }
    }
}
