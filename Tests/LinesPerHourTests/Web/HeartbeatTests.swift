import Testing
@testable import LinesPerHour

/// A quiet stream sends its heartbeat one period after it last wrote to its
/// client: not on a timer of its own that may just have skipped a beat (gaps
/// of almost two periods), and not postponed by deliveries it does not send
/// (a job's log stream reads its job's status events and writes none of them),
/// either of which lets a proxy drop the stream as dead.
@Suite struct HeartbeatTests {
    @Test func aHeartbeatIsDueOnePeriodAfterTheLastWriteAndNotBefore() async throws {
        let broadcaster = Broadcaster()
        let feed = EventFeed(StreamHub(broadcaster), idle: .seconds(15)) { _ in true }
        let written = ContinuousClock.now
        feed.wrote(at: written)

        let next = Task { await feed.next() }
        try await eventually("the stream to wait") { feed.isWaiting }
        feed.tick(written + .seconds(14))
        #expect(feed.isWaiting, "a heartbeat before a whole quiet period")
        feed.tick(written + .seconds(15))
        guard case .idle = await next.value else { Issue.record("no heartbeat a whole quiet period after the last write"); return }

        let after = Task { await feed.next() }
        try await eventually("the stream to wait again") { feed.isWaiting }
        feed.tick(written + .seconds(29))
        #expect(feed.isWaiting, "the heartbeat itself starts the next period")
        feed.close()
        guard case .closed = await after.value else { Issue.record("a closed feed did not end"); return }
    }

    @Test func aDeliveryTheStreamDoesNotWriteDoesNotPostponeTheHeartbeat() async throws {
        let broadcaster = Broadcaster()
        let feed = EventFeed(StreamHub(broadcaster), idle: .seconds(15)) { _ in true }
        let written = ContinuousClock.now
        feed.wrote(at: written)
        broadcaster.publish([Event(id: 1, stream: .jobs, jobID: 7, level: .info, text: "job 7 phase plan", timestamp: "2026-01-01T00:00:00.000Z")])
        guard case .events(let batches) = await feed.next() else { Issue.record("the event was not delivered"); return }
        #expect(batches.flatMap { kept in kept.indices.map { kept.batch.events[$0].id } } == [1])

        let next = Task { await feed.next() }
        try await eventually("the stream to wait") { feed.isWaiting }
        feed.tick(written + .seconds(15))
        guard case .idle = await next.value else { Issue.record("the unwritten delivery postponed the heartbeat"); return }
    }
}
