import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The one writer of a node: what ``Writer`` is to SQLite (the same
/// inbox, group commit, savepoint per unit of work, back-pressure and
/// full-disk behaviour), on PostgreSQL, shared with other nodes.
///
/// Every batch takes one transaction-scoped advisory lock before it writes,
/// so the journal's ids (`stream_messages` and `log_entries`) are handed
/// out in the order their transactions commit, across every node: a reader
/// that has seen id 105 can never later find an id 104 commit. The batch
/// then reads the highest ids already committed (nothing else can insert
/// while it holds the lock), which tells the ``JournalFollower`` exactly
/// which rows of other nodes came before its own.
final class PostgresWriter: Sendable {
    typealias Work = @Sendable (PostgresSession, inout [Event]) async -> @Sendable () -> Void

    enum Operation: Sendable {
        case log(LogRow)
        case work(Work, fail: @Sendable (any Error) -> Void)
    }

    /// Runs on each batch's events inside its transaction, before the commit (the webhook outbox).
    typealias Capture = @Sendable (PostgresSession, [Event]) async throws -> Void

    /// The advisory lock key of the journal's writers (any constant; this one reads "lph jrnl").
    static let journalLock: Int64 = 0x6c70_6820_6a72_6e6c

    private let client: PostgresClient
    private let node: String
    private let follower: JournalFollower
    private let capture: Capture?
    private let logger: Logger
    private let failure = Mutex<String?>(nil)
    private let inbox: Inbox<Operation>
    private let linesStored = Counter(label: "lph_log_lines_stored_total")
    private let batchRows = Recorder(label: "lph_writer_batch_rows")

    init(client: PostgresClient, node: String, follower: JournalFollower, logger: Logger, maxBatch: Int = 10_000,
         highWater: Int = 50_000, capture: Capture?) {
        self.client = client
        self.node = node
        self.follower = follower
        self.capture = capture
        self.logger = logger
        inbox = Inbox(batchLimit: maxBatch, highWater: highWater)
    }

    func append(_ rows: [LogRow]) async {
        guard !rows.isEmpty else { return }
        await inbox.appendWhenRoom(rows.map { .log($0) })
    }

    var problem: String? { failure.withLock { $0 } }

    /// Runs `body` in the next batch's transaction (in its own savepoint) and
    /// returns its result once the transaction has committed.
    func perform<T: Sendable>(_ body: @escaping @Sendable (PostgresSession, inout [Event]) async throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            let work: Work = { session, events in
                var local: [Event] = []
                let outcome: Result<T, any Error>
                do {
                    try await session.rows("SAVEPOINT unit")
                    let value = try await body(session, &local)
                    try await session.rows("RELEASE SAVEPOINT unit")
                    outcome = .success(value)
                    events.append(contentsOf: local)
                } catch {
                    // The transaction goes on without this unit; if even the rollback fails, the commit fails too.
                    _ = try? await session.rows("ROLLBACK TO SAVEPOINT unit")
                    _ = try? await session.rows("RELEASE SAVEPOINT unit")
                    outcome = .failure(error)
                }
                return { c.resume(with: outcome) }
            }
            if !inbox.append(contentsOf: [.work(work, fail: { c.resume(throwing: $0) })]) {
                c.resume(throwing: StoreError.writerStopped)
            }
        }
    }

    /// Drains until a graceful shutdown, or a cancellation (``Inbox/next()``): either way what was
    /// accepted is committed first, as far as the database lets it.
    func run() async throws {
        await withGracefulShutdownHandler {
            while let batch = await inbox.next() {
                await commitUntilDurable(batch)
            }
        } onGracefulShutdown: {
            self.inbox.close()
        }
    }

    /// As SQLite's writer: units of work of a refused batch are answered
    /// with the error, its log lines tried again with back-off.
    private func commitUntilDurable(_ batch: [Operation]) async {
        var batch = batch
        var backoff = Backoff(from: .milliseconds(50), upTo: .seconds(5))
        var failingSince: ContinuousClock.Instant?
        while true {
            do {
                let (committed, completions) = try await commit(batch)
                batchRows.record(batch.count)
                await follower.committed(committed)
                for done in completions { done() }
                if failure.withLock({ $0.take() }) != nil { logger.notice("database writes succeed again") }
                return
            } catch {
                await follower.localCommitFailed()
                let refusal = StoreError.refused(PostgresStore.describe(error))
                failure.withLock { $0 = "database writes are failing (retrying, nothing accepted is dropped): \(refusal)" }
                batch = answer(batch, refusal)
                guard !batch.isEmpty else { return }
                logger.error("database write failed, will retry", metadata: ["error": "\(refusal)", "rows": "\(batch.count)"])
                let since = failingSince ?? .now
                failingSince = since
                if inbox.isClosing && ContinuousClock.now - since > Writer.shutdownPatience {
                    let lines = batch.count + answer(inbox.abandon(), refusal).count
                    logger.critical("shutting down with the database refusing writes: \(lines) log lines are given up (their jobs fail at the next start)")
                    return
                }
                try? await Task.sleep(for: backoff.next())
                // Units of work queued meanwhile are answered now, not held behind the log lines (see ``Writer``).
                _ = answer(inbox.remove { if case .work = $0 { true } else { false } }, refusal)
            }
        }
    }

    /// Fails the units of work among `operations`; returns their log lines, to retry.
    private func answer(_ operations: [Operation], _ error: any Error) -> [Operation] {
        operations.filter { operation in
            guard case .work(_, let fail) = operation else { return true }
            fail(error)
            return false
        }
    }

    private func commit(_ batch: [Operation]) async throws -> (JournalFollower.Commit, [@Sendable () -> Void]) {
        try await PostgresStore.withConnection(client) { [self] connection in try await connection.withTransaction(logger: logger) { connection in
            let session = PostgresSession(connection: connection, logger: logger)
            try await session.rows("SELECT pg_advisory_xact_lock(\(Self.journalLock))")
            let before = try await JournalFollower.highest(session)
            var events: [Event] = []
            var completions: [@Sendable () -> Void] = []
            var lines: [LogRow] = []
            for operation in batch {
                switch operation {
                case .log(let row):
                    lines.append(row)
                case .work(let work, _):
                    try await insert(&lines, session, into: &events)
                    completions.append(await work(session, &events))
                }
            }
            try await insert(&lines, session, into: &events)
            try await capture?(session, events)
            if !events.isEmpty { try await session.rows("SELECT pg_notify(\(JournalFollower.channel), \(node))") }
            await follower.localCommitStarts()
            return (JournalFollower.Commit(events: events, after: before), completions)
        } }
    }

    /// Inserts the log lines gathered so far in one statement, in order; their events follow the batch's.
    private func insert(_ lines: inout [LogRow], _ session: PostgresSession, into events: inout [Event]) async throws {
        guard !lines.isEmpty else { return }
        let ids = try await session.rows("""
            INSERT INTO log_entries (job_id, message, level, source, timestamp)
            SELECT job_id, message, level, source, timestamp
            FROM unnest(\(lines.map(\.jobID))::bigint[], \(lines.map(\.message))::text[], \(lines.map(\.level.rawValue))::text[],
                        \(lines.map(\.source.rawValue))::text[], \(lines.map(\.timestamp))::text[])
                WITH ORDINALITY AS line(job_id, message, level, source, timestamp, n)
            ORDER BY n RETURNING id
            """).map { try $0.decode(Int64.self) }
        for (id, row) in zip(ids, lines) {
            events.append(Event(id: id, stream: .jobLog, jobID: row.jobID, level: row.level, text: row.message,
                                timestamp: row.timestamp, source: row.source.rawValue))
        }
        linesStored.increment(by: lines.count)
        lines.removeAll(keepingCapacity: true)
    }
}
