import Synchronization
import Testing
@testable import LinesPerHour

@Suite struct BatchPacerTests {
    func event(_ id: Int64) -> Event {
        Event(id: id, stream: .jobLog, jobID: 1, level: .info, text: "line \(id)", timestamp: "2026-01-01T00:00:00.000Z")
    }

    @Test func theFirstBatchGoesAtOnceAndTheNextOnesTogetherInOrderAfterThePace() async throws {
        let delivered = Mutex<[[Int64]]>([])
        let pacer = BatchPacer(pace: { .seconds(3) }) { events in delivered.withLock { $0.append(events.map(\.id)) } }
        pacer.arrived([event(1)])
        #expect(delivered.withLock { $0 } == [[1]], "after a quiet period a batch is not held")
        pacer.arrived([event(2)])
        pacer.arrived([event(3), event(4)])
        #expect(delivered.withLock { $0 } == [[1]], "held for the rest of the pace")
        try await eventually("the held batches") { delivered.withLock { $0.count } == 2 }
        #expect(delivered.withLock { $0 } == [[1], [2, 3, 4]])
    }
}
