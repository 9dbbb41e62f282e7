/// The event streams' one subscription to the broadcast: each committed batch
/// is wrapped once (its SSE frames encoded on first use, for every client that
/// sends them) and handed to every open stream's feed. The hub's one clock
/// tells every feed the time each second, so a quiet stream knows when to send
/// its heartbeat without a timer of its own (thousands of idle clients, one
/// timer). Batches reach the feeds at most once per ``pace(streams:)`` (``BatchPacer``).
final class StreamHub: Sendable {
    enum Signal: Sendable {
        case batch(FramedBatch)
        case tick(ContinuousClock.Instant)
    }

    static let tickInterval: Duration = .seconds(1)

    /// How long batches wait for each other: 50 µs for each open stream, at
    /// most 200 ms. An agent printing a line at a time makes a commit, and so a
    /// batch, per line; each batch wakes every stream and makes a write to its
    /// client (25–30 µs of CPU here, the line's commit included). A hundred
    /// clients of a job printing 1,000 lines a second took 20 s of CPU in 15 s,
    /// and 8 s paced at 5 ms. The pace grows with the streams, so that fanning
    /// out costs about the same however many watch: with the pace capped at
    /// 5 ms, a thousand clients of that job took 33 s of CPU and fell 0.6–1.6 s
    /// behind; paced at 50 ms, 16 s and 75 ms. One client is not held up.
    static func pace(streams: Int) -> Duration {
        min(.milliseconds(200), .microseconds(50) * streams)
    }

    private let broadcaster: Broadcaster
    private let feeds = Subscribers<Signal>()
    private let token: Int
    private let clock: Task<Void, Never>

    init(_ broadcaster: Broadcaster) {
        self.broadcaster = broadcaster
        let feeds = self.feeds
        let pacer = BatchPacer(pace: { Self.pace(streams: feeds.count) }) { events in feeds.send { .batch(FramedBatch(events)) } }
        token = broadcaster.subscribe { events in pacer.arrived(events) }
        clock = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.tickInterval)
                feeds.send { .tick(.now) }
            }
        }
    }

    deinit {
        clock.cancel()
        broadcaster.unsubscribe(token)
    }

    /// Registers a feed's handler; keep the returned token to unsubscribe.
    func subscribe(_ handler: @escaping @Sendable (Signal) -> Void) -> Int {
        feeds.add(handler)
    }

    func unsubscribe(_ token: Int) {
        feeds.remove(token)
    }
}
