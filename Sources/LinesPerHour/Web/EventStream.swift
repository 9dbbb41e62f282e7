import Hummingbird
import ServiceLifecycle

/// Server-Sent Events from the journal: replay from the database after the
/// client's last id, then live events, with no gap and no duplicate.
///
/// The feed subscribes before the replay reads the database, so an event is
/// either in the replay, or in the feed, or both (then skipped by id). A
/// client too slow for the live rate overflows its bounded feed and goes back
/// to reading the database from its last id. A graceful shutdown ends every
/// stream, so the HTTP server can drain.
struct EventStream: Sendable {
    var store: any Store
    var hub: StreamHub
    static let heartbeat: Duration = .seconds(15)
    /// Rows a replay reads at a time.
    static let page = 1000

    /// The broadcast streams: `streams` of the journal, visible to `user`.
    func journal(_ streams: [StreamName], after: Int64, user: User, session: StreamSessions.Session,
                 to writer: inout any ResponseBodyWriter) async throws {
        let visibility = Visibility(user: user)
        let wanted = Set(streams)
        let feed = EventFeed(hub, idle: Self.heartbeat) { wanted.contains($0.stream) && visibility.allows($0) }
        session.attach(feed)
        let userID = user.visibleOwner
        var last = after
        _ = try await follow(feed, from: &last, to: &writer, read: {
            try await store.streamEvents(streams, after: $0, userID: userID, limit: Self.page)
        })
    }

    /// One job's log: the whole log, then live lines, then `event: end` once
    /// the job has ended and its last line was sent.
    func jobLog(_ job: Int64, after: Int64, session: StreamSessions.Session, to writer: inout any ResponseBodyWriter) async throws {
        // The job's own `jobs` events wake the loop when its status changes.
        let feed = EventFeed(hub, idle: Self.heartbeat) { $0.jobID == job && ($0.stream == .jobLog || $0.stream == .jobs) }
        session.attach(feed)
        let read = { @Sendable (after: Int64) in try await store.logEvents(job: job, after: after, limit: Self.page) }
        var last = after
        let ended = try await follow(feed, from: &last, to: &writer, read: read, keep: { $0.stream == .jobLog }) {
            try await store.job(job)?.status.isFinal != false
        }
        guard ended else { return }
        // A job's status turns final in the transaction after its last line, so once
        // it reads final, one more replay has every line.
        try await replay(from: &last, to: &writer, read)
        try await writer.write(ByteBuffer(string: "event: end\ndata: {\"job_id\":\(job)}\n\n"))
    }

    /// Replays the rows after `last`, then sends live events until `isOver`
    /// holds (returns true) or the daemon shuts down (returns false). `isOver`
    /// is asked at the start and again only on a cue: an event the stream does
    /// not send (a job's status change), an overflow or an idle spell, so a
    /// busy stream does not read the database once per delivery.
    private func follow(_ feed: EventFeed, from last: inout Int64, to writer: inout any ResponseBodyWriter,
                        read: (Int64) async throws -> [Event], keep: (Event) -> Bool = { _ in true },
                        until isOver: () async throws -> Bool = { false }) async throws -> Bool {
        try await withGracefulShutdownHandler {
            if try await replay(from: &last, to: &writer, read) { feed.wrote() }
            var cue = true
            while !Task.isCancelled {
                if cue, try await isOver() { return true }
                switch await feed.next() {
                case .events(let batches):
                    cue = batches.contains { $0.contains { !keep($0) } }
                    if try await send(batches.map { $0.filter(keep) }, after: &last, to: &writer) { feed.wrote() }
                case .overflowed:
                    MetricsEndpoint.sseOverflows.increment()
                    cue = true
                    if try await replay(from: &last, to: &writer, read) { feed.wrote() }
                case .idle:
                    cue = true
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                case .closed:
                    return false
                }
            }
            return false
        } onGracefulShutdown: {
            feed.close()
        }
    }

    /// Sends the rows after `last`, a ``page`` at a time, until a page is not
    /// full; answers whether anything was written. What commits after that
    /// read is in the feed, which subscribed before the replay began. (Reading
    /// on until a page came back empty never ended while the job printed: a
    /// thousand clients that connected as it began kept reading the database
    /// a page at a time for the whole job, seconds behind, instead of sharing the feed.)
    @discardableResult
    private func replay(from last: inout Int64, to writer: inout any ResponseBodyWriter,
                        _ read: (Int64) async throws -> [Event]) async throws -> Bool {
        var wrote = false
        while true {
            let rows = try await read(last)
            wrote = try await send(rows, after: &last, to: &writer) || wrote
            if rows.count < Self.page { return wrote }
        }
    }

    private func send(_ events: [Event], after last: inout Int64, to writer: inout any ResponseBodyWriter) async throws -> Bool {
        var buffer = ByteBuffer()
        for event in events where event.id > last {
            buffer.writeString(FramedBatch.frame(event))
            last = event.id
        }
        return try await write(buffer, to: &writer)
    }

    /// Live events: their frames were encoded once, for every client. A client
    /// that keeps one run of a batch's events (the usual case: a job's log, or
    /// a stream of every event) is sent a slice of the batch's buffer, not a
    /// copy; several runs are copied into one buffer.
    private func send(_ batches: [EventFeed.Kept], after last: inout Int64, to writer: inout any ResponseBodyWriter) async throws -> Bool {
        var buffer: ByteBuffer?
        for kept in batches {
            for run in kept.runs(after: last) {
                let frames = kept.batch.frames(run)
                if buffer == nil { buffer = frames } else { buffer!.writeImmutableBuffer(frames) }
                last = kept.batch.events[run.upperBound - 1].id
            }
        }
        guard let buffer else { return false }
        return try await write(buffer, to: &writer)
    }

    private func write(_ buffer: ByteBuffer, to writer: inout any ResponseBodyWriter) async throws -> Bool {
        guard buffer.readableBytes > 0 else { return false }
        try await writer.write(buffer)
        return true
    }

}
