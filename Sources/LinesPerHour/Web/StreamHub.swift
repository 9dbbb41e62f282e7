/// The event streams' one subscription to the broadcast: each committed batch
/// is wrapped once (its SSE frames encoded on first use, for every client that
/// sends them) and handed to every open stream's feed.
final class StreamHub: Sendable {
    private let broadcaster: Broadcaster
    private let feeds = Subscribers<FramedBatch>()
    private let token: Int

    init(_ broadcaster: Broadcaster) {
        self.broadcaster = broadcaster
        token = broadcaster.subscribe { [feeds] events in feeds.send { FramedBatch(events) } }
    }

    deinit {
        broadcaster.unsubscribe(token)
    }

    /// Registers a feed's handler; keep the returned token to unsubscribe.
    func subscribe(_ handler: @escaping @Sendable (FramedBatch) -> Void) -> Int {
        feeds.add(handler)
    }

    func unsubscribe(_ token: Int) {
        feeds.remove(token)
    }
}
