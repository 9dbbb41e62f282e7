import Logging
import ServiceLifecycle
import Synchronization
import Testing
@testable import LinesPerHour

/// The engines a store runs on: the store's behaviour tests run on each.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }
}

/// A store on a fresh database (an SQLite file, or a database of its own on
/// the tests' PostgreSQL server) with its writer running, and no daemon: what
/// the store's own behaviour is tested on. It keeps every event it publishes.
final class ScratchStore: Sendable {
    let scratch: Scratch
    /// The SQLite file's path, or the PostgreSQL database's URL.
    let database: String
    let store: any Store
    private let events: EventLog
    private let group: ServiceGroup
    private let running: Task<Void, any Error>

    /// On PostgreSQL, `url` puts the store on an existing database (another node's), else it gets a new one.
    static func make(_ backend: Backend = .sqlite, url: String? = nil, node: String = "one", lease: Duration = .seconds(30),
                     webhooks: [WebhookSubscription] = []) async throws -> ScratchStore {
        let scratch = try Scratch()
        let events = EventLog()
        let logger = Logger(label: "lph-test")
        var database = scratch.file("lph.sqlite")
        let store: any Store
        switch backend {
        case .sqlite:
            store = try SQLiteStore(path: database, logger: logger, webhooks: webhooks) { events.append($0) }
        case .postgres:
            if let url { database = url } else { database = try await PostgresServer.newDatabase() }
            store = try await PostgresStore.open(url: database, node: .init(name: node, lease: lease, sharedProjects: false),
                                                 logger: logger, webhooks: webhooks) { events.append($0) }
        }
        return ScratchStore(scratch: scratch, database: database, store: store, events: events, logger: logger)
    }

    private init(scratch: Scratch, database: String, store: any Store, events: EventLog, logger: Logger) {
        self.scratch = scratch
        self.database = database
        self.events = events
        self.store = store
        let group = ServiceGroup(configuration: .init(services: [store], logger: logger))
        self.group = group
        running = Task { try await group.run() }
    }

    /// Every event published so far, in order.
    var published: [Event] { events.all }

    /// Stops everything at once, as a `kill -9` would, with no goodbye (a node leaves the `nodes` table only when stopped).
    func kill() async {
        running.cancel()  // what is cancelled says nothing more, the node's goodbye included
        _ = try? await running.value
    }

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
