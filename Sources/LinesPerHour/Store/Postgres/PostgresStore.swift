import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The store of several nodes: one PostgreSQL database that every `lph serve`
/// pointed at it shares (the queue, the journal, the streams, the index).
///
/// Each node has its own single writer (``PostgresWriter``); writes of all
/// nodes are ordered by the writers' advisory lock, and each node's
/// ``JournalFollower`` publishes every node's events to it in id order.
/// ``NodeMembership`` keeps this node's heartbeat and fails the jobs of nodes
/// that stopped beating.
public final class PostgresStore: Store {
    /// Who this node is among the others.
    public struct Node: Sendable {
        public var name: String
        /// A node whose heartbeat is older than this is dead.
        public var lease: Duration
        /// The projects folder is on a shared file system: any node may run any project.
        public var sharedProjects: Bool

        public init(name: String, lease: Duration, sharedProjects: Bool) {
            (self.name, self.lease, self.sharedProjects) = (name, lease, sharedProjects)
        }
    }

    let client: PostgresClient
    let node: Node
    let logger: Logger
    /// The connection pool, running from ``open(url:node:logger:webhooks:publish:)`` to the end of ``run()``.
    private let pool: Task<Void, Never>
    let writer: PostgresWriter
    private let follower: JournalFollower
    /// Where this node's HTTP API answers, once it does (the `nodes` table tells the others).
    let address = Mutex<String?>(nil)

    /// Connects, migrates the schema, and starts following the journal from its end.
    public static func open(url: String, node: Node, logger: Logger = Logger(label: "lph"), webhooks: [WebhookSubscription] = [],
                            publish: @escaping @Sendable ([Event]) -> Void = { _ in }) async throws -> PostgresStore {
        // The pool's own warnings (a lease asked for a moment before its run loop starts) say less than
        // the store's errors, which name what failed.
        var poolLogger = logger
        poolLogger.logLevel = .error
        let client = PostgresClient(configuration: try PostgresURL.configuration(url), backgroundLogger: poolLogger)
        let pool = Task { await client.run() }
        do {
            try await translatingErrors { try await withConnection(client) { try await PostgresSchema.migrate($0, logger: logger) } }
            let marks = try await translatingErrors {
                try await withConnection(client) { try await JournalFollower.highest(PostgresSession(connection: $0, logger: logger)) }
            }
            return PostgresStore(client: client, pool: pool, node: node, logger: logger, webhooks: webhooks,
                                 follower: JournalFollower(client: client, logger: logger, from: marks, publish: publish))
        } catch {
            pool.cancel()
            throw DaemonError("cannot use the PostgreSQL database at \(PostgresURL.redacted(url)): \(describe(error))")
        }
    }

    private init(client: PostgresClient, pool: Task<Void, Never>, node: Node, logger: Logger, webhooks: [WebhookSubscription],
                 follower: JournalFollower) {
        self.client = client
        self.pool = pool
        self.node = node
        self.logger = logger
        self.follower = follower
        let capture: PostgresWriter.Capture = { session, events in try await Self.captureDeliveries(session, events, for: webhooks) }
        writer = PostgresWriter(client: client, node: node.name, follower: follower, logger: logger,
                                capture: webhooks.isEmpty ? nil : capture)
    }

    /// Runs the writer, the journal's follower and this node's membership;
    /// the writer flushes on shutdown, then the pool closes.
    public func run() async throws {
        defer { pool.cancel() }
        let membership = NodeMembership(store: self)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await self.writer.run() }
            group.addTask { await self.followJournal() }
            group.addTask { await membership.run() }
        }
        await membership.leave()
    }

    /// Wakes the follower on every other node's NOTIFY, and once a second in
    /// case a notification was lost with its connection.
    private func followJournal() async {
        let (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        await withDiscardingTaskGroup { group in
            group.addTask { await self.listen { wake.yield() } }
            group.addTask { await periodically(every: .seconds(1)) { wake.yield() } }
            for await _ in wakes.cancelOnGracefulShutdown() { await follower.catchUp() }
            group.cancelAll()
        }
    }

    private func listen(_ notified: @escaping @Sendable () -> Void) async {
        var backoff = Backoff(from: .milliseconds(100), upTo: .seconds(5))
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: JournalFollower.channel) { notifications in
                        notified()  // rows may have committed while nobody listened
                        for try await notification in notifications where notification.payload != node.name { notified() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("lost the PostgreSQL notifications, listening again: \(Self.describe(error))")
            }
            try? await Task.sleep(for: backoff.next())
        }
    }

    func serving(at address: String) {
        self.address.withLock { $0 = address }
    }

    var writeProblem: String? { writer.problem }

    func append(_ rows: [LogRow]) async {
        await writer.append(rows)
    }

    /// Runs `body` as one unit of the writer's work.
    func write<T: Sendable>(_ body: @escaping @Sendable (PostgresSession, inout [Event]) async throws -> T) async throws -> T {
        try await Self.translatingErrors { try await writer.perform(body) }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (PostgresSession) async throws -> T) async throws -> T {
        try await Self.translatingErrors {
            try await Self.withConnection(client) { [logger] connection in try await body(PostgresSession(connection: connection, logger: logger)) }
        }
    }

    /// How long a connection is waited for. The pool waits as long as it
    /// fails to make one: without a bound, a database that is gone would hold
    /// a request, the writer, and a shutdown, for ever.
    static let patience: Duration = .seconds(15)

    /// Who got there first: the connection, or the end of the wait.
    private final class Lease: Sendable {
        enum Side { case waiting, leased, givenUp }
        private let side = Mutex(Side.waiting)

        /// Moves from waiting to `next`; false when the other side got there first.
        func settle(_ next: Side) -> Bool {
            side.withLock { side in
                guard side == .waiting else { return false }
                side = next
                return true
            }
        }
    }

    /// A pooled connection for `body`, waited for at most ``patience``. Once
    /// `body` has its connection it is not cut short: a query in flight cannot
    /// be taken back, and its outcome would be unknown. The server's own
    /// time-outs bound it instead (``PostgresURL/configuration(_:environment:)``).
    static func withConnection<T: Sendable>(_ client: PostgresClient,
                                            _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let lease = Lease()
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await client.withConnection { connection in
                    guard lease.settle(.leased) else { throw CancellationError() }
                    return try await body(connection)
                }
            }
            group.addTask {
                try? await Task.sleep(for: patience)  // ends early once `body` is done
                if lease.settle(.givenUp) { throw StoreError.refused("no connection to PostgreSQL within \(patience)") }
                return nil
            }
            while let result = try await group.next() {
                if let result {
                    group.cancelAll()
                    return result
                }
            }
            throw CancellationError()
        }
    }

    /// Setup happens before the writer runs; the advisory lock keeps two nodes starting at once from making two admins.
    func ensureAdmin(email: String, credits: Int64) async throws -> String? {
        try await Self.translatingErrors {
            try await Self.withConnection(client) { [logger] connection in
                try await connection.withTransaction(logger: logger) { connection in
                    let session = PostgresSession(connection: connection, logger: logger)
                    try await session.rows("SELECT pg_advisory_xact_lock(\(PostgresWriter.journalLock))")
                    guard try await session.value("SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin')", as: Bool.self) != true else { return nil }
                    return try await PostgresUserWrites.create(session, email: email, role: .admin, credits: credits).1
                }
            }
        }
    }

    /// PostgreSQL's errors leave the store as ``StoreError``s, with the server's
    /// own words; what a transaction's body threw for its own reasons (a rejection) leaves as it is.
    static func translatingErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PostgresTransactionError {
            if let inner = error.closureError, !(inner is PSQLError) { throw inner }
            throw StoreError.refused(describe(error))
        } catch let error as PSQLError {
            throw StoreError.refused(describe(error))
        }
    }

    /// What went wrong, in the server's words when it said something (PSQLError's own description hides them).
    static func describe(_ error: any Error) -> String {
        if let error = error as? PostgresTransactionError,
           let cause = error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError {
            return describe(cause)
        }
        if case StoreError.refused(let why)? = error as? StoreError { return why }
        if "\(error)".contains("connectionCreationCircuitBreakerTripped") { return "cannot connect to PostgreSQL" }
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] { return message }
        return "\(error.code)"
    }
}
