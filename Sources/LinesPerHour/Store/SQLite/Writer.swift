import GRDB
import GRDBSQLite
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The one writer to SQLite.
///
/// Everything the daemon records goes through here, in the order it was
/// handed in: job log lines on a fast path (one cached prepared statement),
/// and units of work (claims, status changes, journal rows) each in its own
/// savepoint, so one failing unit never takes the rest of its batch with it.
///
/// Batching is group commit: the drain loop takes whatever queued up while the
/// previous transaction committed (up to `maxBatch` rows), so an idle daemon
/// commits at once and a busy one commits in large transactions. Only after a
/// commit are the batch's events handed to `publish` and the callers resumed:
/// nothing is ever shown that is not in the database.
///
/// Producers that outrun the disk are held back (``append(_:)`` suspends above
/// `highWater` queued rows), which in turn stops the reading of an agent's
/// pipe: memory stays bounded and no line is dropped.
///
/// A commit the database refuses (a full disk) answers its units of work with
/// the error at once: nothing of theirs was stored, and their callers keep
/// what they were storing and try again (a job file stays in `incoming/`, an
/// HTTP client gets 503). Log lines have no caller to answer: they are
/// retried with back-off for as long as it takes, holding the agents back,
/// except once shutdown was asked for: then, after ``shutdownPatience``, they
/// are given up, loudly, so a stop is not held forever (it is then what a
/// `kill -9` would be, which the daemon recovers from at its next start).
final class Writer: Sendable {
    /// A unit of work: runs inside the batch's transaction, appends the events
    /// it committed, and returns what to do once the commit is durable.
    typealias Work = @Sendable (Database, inout [Event]) -> @Sendable () -> Void

    enum Operation: Sendable {
        case log(LogRow)
        /// `fail` answers the caller when the work's transaction did not commit (nothing of it was stored).
        case work(Work, fail: @Sendable (any Error) -> Void)
    }

    static let shutdownPatience: Duration = .seconds(10)

    /// Runs on each batch's events inside its transaction, before the commit (the webhook outbox).
    typealias Capture = @Sendable (Database, [Event]) throws -> Void

    private let database: any DatabaseWriter
    private let publish: @Sendable ([Event]) -> Void
    private let capture: Capture?
    private let logger: Logger
    private let failure = Mutex<String?>(nil)
    private let inbox: Inbox<Operation>
    private let linesStored = Counter(label: "lph_log_lines_stored_total")
    private let batchRows = Recorder(label: "lph_writer_batch_rows")
    private let commitTime = Metrics.Timer(label: "lph_writer_commit_seconds")

    init(database: any DatabaseWriter, logger: Logger, maxBatch: Int = 10_000, highWater: Int = 50_000, capture: Capture? = nil,
         publish: @escaping @Sendable ([Event]) -> Void) {
        self.database = database
        self.capture = capture
        self.logger = logger
        inbox = Inbox(batchLimit: maxBatch, highWater: highWater)
        self.publish = publish
    }

    // MARK: - Producers

    /// Queues log lines; suspends while the queue is over its high-water mark.
    func append(_ rows: [LogRow]) async {
        guard !rows.isEmpty else { return }
        await inbox.appendWhenRoom(rows.map { .log($0) })
    }

    /// Why commits are failing right now (a full disk), if they are.
    var problem: String? { failure.withLock { $0 } }

    /// Runs `body` in the next batch's transaction (in its own savepoint) and
    /// returns its result once the transaction has committed. Events appended
    /// to the `inout` array are published after the commit.
    func perform<T: Sendable>(_ body: @escaping @Sendable (Database, inout [Event]) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            let work: Work = { db, events in
                var local: [Event] = []
                let outcome: Result<T, any Error>
                do {
                    var value: T?
                    try db.inSavepoint {
                        value = try body(db, &local)
                        return .commit
                    }
                    outcome = .success(value!)
                    events.append(contentsOf: local)
                } catch {
                    outcome = .failure(error)
                }
                return { c.resume(with: outcome) }
            }
            if !inbox.append(contentsOf: [.work(work, fail: { c.resume(throwing: $0) })]) {
                c.resume(throwing: StoreError.writerStopped)
            }
        }
    }

    // MARK: - The drain loop

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

    /// Commits a batch. While the database refuses (a full disk), its units of
    /// work are answered with the error and its log lines retried with back-off.
    private func commitUntilDurable(_ batch: [Operation]) async {
        var batch = batch
        var backoff = Backoff(from: .milliseconds(50), upTo: .seconds(5))
        var failingSince: ContinuousClock.Instant?
        while true {
            do {
                let start = ContinuousClock.now
                let (events, completions) = try await commit(batch)
                let elapsed = (ContinuousClock.now - start).components
                commitTime.recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
                batchRows.record(batch.count)
                publish(events)
                for done in completions { done() }
                if failure.withLock({ $0.take() }) != nil { logger.notice("database writes succeed again") }
                return
            } catch {
                failure.withLock { $0 = "database writes are failing (retrying, nothing accepted is dropped): \(error)" }
                batch = answer(batch, error)
                guard !batch.isEmpty else { return }
                logger.error("database write failed, will retry", metadata: ["error": "\(error)", "rows": "\(batch.count)"])
                let since = failingSince ?? .now
                failingSince = since
                if inbox.isClosing && ContinuousClock.now - since > Self.shutdownPatience {
                    return abandon(batch, because: error)
                }
                try? await Task.sleep(for: backoff.next())
                refuseQueuedWork(error)
            }
        }
    }

    /// Fails the units of work of a refused batch; returns its log lines, to retry.
    private func answer(_ batch: [Operation], _ error: any Error) -> [Operation] {
        batch.filter { operation in
            guard case .work(_, let fail) = operation else { return true }
            fail(error)
            return false
        }
    }

    /// Units of work queued while the database refuses are answered now, with
    /// the error, rather than behind log lines that wait for it: their callers
    /// (a request, a job's end, a shutdown) go on.
    private func refuseQueuedWork(_ error: any Error) {
        _ = answer(inbox.remove { if case .work = $0 { true } else { false } }, error)
    }

    /// Gives up the log lines of a batch and everything still queued: shutdown cannot wait for the disk forever.
    private func abandon(_ batch: [Operation], because error: any Error) {
        let lines = batch.count + answer(inbox.abandon(), error).count
        logger.critical("""
            shutting down with the database refusing writes for over \(Self.shutdownPatience): \(lines) log lines are given up \
            (their jobs fail at the next start): \(error)
            """)
    }

    /// Runs on GRDB's writer queue, never on a Swift concurrency thread.
    private func commit(_ batch: [Operation]) async throws -> ([Event], [@Sendable () -> Void]) {
        try await database.write { db in
            var events: [Event] = []
            events.reserveCapacity(batch.count)
            var completions: [@Sendable () -> Void] = []
            let insert = try db.cachedStatement(sql: """
                INSERT INTO log_entries (job_id, message, level, source, timestamp) VALUES (?, ?, ?, ?, ?)
                """)
            var lines = 0
            for operation in batch {
                switch operation {
                case .log(let row):
                    try Self.insert(row, with: insert, db)
                    events.append(Event(id: db.lastInsertedRowID, stream: .jobLog, jobID: row.jobID, level: row.level,
                                        text: row.message, timestamp: row.timestamp, source: row.source.rawValue))
                    lines += 1
                case .work(let work, _):
                    completions.append(work(db, &events))
                }
            }
            linesStored.increment(by: lines)
            try capture?(db, events)
            return (events, completions)
        }
    }
}

extension Writer {
    /// Binds one log row by hand to the cached statement: the generic
    /// argument path boxes every value, and this runs once per stored line.
    private static func insert(_ row: LogRow, with statement: Statement, _ db: Database) throws {
        let handle = statement.sqliteStatement
        sqlite3_bind_int64(handle, 1, row.jobID)
        var message = row.message
        var timestamp = row.timestamp
        let code = message.withUTF8 { text in
            timestamp.withUTF8 { time in
                sqlite3_bind_text(handle, 2, text.baseAddress, Int32(text.count), nil)
                bindStatic(handle, 3, row.level.rawValue)
                bindStatic(handle, 4, row.source.rawValue)
                sqlite3_bind_text(handle, 5, time.baseAddress, Int32(time.count), nil)
                defer {
                    sqlite3_reset(handle)
                    sqlite3_clear_bindings(handle)
                }
                return sqlite3_step(handle)
            }
        }
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }

    private static func bindStatic(_ handle: OpaquePointer?, _ index: Int32, _ text: String) {
        var text = text
        _ = text.withUTF8 { sqlite3_bind_text(handle, index, $0.baseAddress, Int32($0.count), SQLITE_TRANSIENT_VALUE) }
    }
}

/// SQLite's `SQLITE_TRANSIENT`, which does not import into Swift: SQLite copies the bytes.
private let SQLITE_TRANSIENT_VALUE = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
