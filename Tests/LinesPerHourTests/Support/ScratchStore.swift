import Logging
import ServiceLifecycle
import Synchronization
@testable import LinesPerHour

/// A store on a fresh SQLite file with its writer running, and no daemon: what
/// the store's own behaviour is tested on. It keeps every event it publishes.
final class ScratchStore: Sendable {
    let scratch: Scratch
    let store: SQLiteStore
    private let events: EventLog
    private let group: ServiceGroup
    private let running: Task<Void, any Error>

    init(webhooks: [WebhookSubscription] = []) throws {
        let scratch = try Scratch()
        let events = EventLog()
        let logger = Logger(label: "lph-test")
        self.scratch = scratch
        self.events = events
        let store = try SQLiteStore(path: scratch.file("lph.sqlite"), logger: logger, webhooks: webhooks) { events.append($0) }
        let group = ServiceGroup(configuration: .init(services: [store], logger: logger))
        self.store = store
        self.group = group
        running = Task { try await group.run() }
    }

    /// Every event published so far, in order.
    var published: [Event] { events.all }

    /// Flushes the writer and stops it, as a daemon's shutdown does.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await running.value
    }
}

final class EventLog: Sendable {
    private let events = Mutex<[Event]>([])

    func append(_ batch: [Event]) { events.withLock { $0 += batch } }

    var all: [Event] { events.withLock { $0 } }
}
