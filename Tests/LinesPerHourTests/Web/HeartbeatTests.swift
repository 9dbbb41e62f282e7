import Testing
@testable import LinesPerHour

/// A quiet stream sends its heartbeat one period after the last thing it
/// sent, not on a timer of its own that may just have skipped a beat (which
/// left gaps of almost two periods, long enough for a proxy to drop the stream).
@Suite struct HeartbeatTests {
    @Test func aHeartbeatIsDueOnePeriodAfterTheLastDeliveryAndNotBefore() async throws {
        let broadcaster = Broadcaster()
        let hub = StreamHub(broadcaster)
        let feed = EventFeed(hub, idle: .seconds(15)) { _ in true }
        broadcaster.publish([Event(id: 1, stream: .logs, jobID: nil, level: .info, text: "x", timestamp: "2026-01-01T00:00:00.000Z")])
        guard case .events(let entries) = await feed.next() else { Issue.record("the event was not delivered"); return }
        #expect(entries.map(\.event.id) == [1])
        let delivered = ContinuousClock.now

        let next = Task { await feed.next() }
        try await eventually("the stream to wait for its next delivery") { feed.isWaiting }
        feed.tick(delivered - .seconds(1) + .seconds(15))
        #expect(feed.isWaiting, "a heartbeat before a whole quiet period")
        feed.tick(delivered + .seconds(15))
        guard case .idle = await next.value else { Issue.record("no heartbeat a whole quiet period after the delivery"); return }

        let after = Task { await feed.next() }
        try await eventually("the stream to wait again") { feed.isWaiting }
        feed.tick(delivered + .seconds(29))
        #expect(feed.isWaiting, "the heartbeat itself starts the next period")
        feed.close()
        guard case .closed = await after.value else { Issue.record("a closed feed did not end"); return }
    }
}
