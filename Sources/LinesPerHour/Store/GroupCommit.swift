import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// A database writer's queue and drain loop, whatever the engine (``Writer``
/// for SQLite, ``PostgresWriter``): log lines and units of work, in the order
/// they were handed in, committed in groups.
///
/// Batching is group commit: the loop takes whatever queued up while the
/// previous transaction committed (up to `maxBatch` rows), so an idle daemon
/// commits at once and a busy one in large transactions. Producers that
/// outrun the database are held back (``append(_:)`` suspends above
/// `highWater` queued rows), which in turn stops the reading of an agent's
/// pipe: memory stays bounded and no line is dropped.
///
/// A commit the database refuses (a full disk, a server gone) answers its
/// units of work with the error at once: nothing of theirs was stored, and
/// their callers keep what they were storing and try again (a job file stays
/// in `incoming/`, an HTTP client gets 503); so are units queued while it
/// refuses, rather than held behind the log lines. Log lines have no caller to
/// answer: they are retried with back-off for as long as it takes, holding the
/// agents back, except once shutdown was asked for: then, after
/// ``Writer/shutdownPatience``, they are given up, loudly, so a stop is not held
/// for ever (it is then what a `kill -9` would be, which the daemon recovers
/// from at its next start).
final class GroupCommit<Work: Sendable>: Sendable {
    enum Operation: Sendable {
        case log(LogRow)
        /// `fail` answers the caller when the work's transaction did not commit (nothing of it was stored).
        case work(Work, fail: @Sendable (any Error) -> Void)
    }

    /// What to do once a batch is durable: publish its events, answer its callers.
    typealias Committed = @Sendable () async -> Void

    private let inbox: Inbox<Operation>
    private let failure = Mutex<String?>(nil)
    private let logger: Logger
    private let batchRows = Recorder(label: "lph_writer_batch_rows")
    private let overlapsPublication: Bool
    private let commitTime = Metrics.Timer(label: "lph_writer_commit_seconds")

    /// `overlapsPublication`: a batch is published (its events handed on, its callers answered)
    /// while the next one commits, so the database is not kept waiting for the streams; one
    /// publication at a time, in order. Not for PostgreSQL, whose ``JournalFollower`` tells its
    /// own rows from other nodes' by the one local commit in flight.
    init(logger: Logger, maxBatch: Int, highWater: Int, overlapsPublication: Bool) {
        self.logger = logger
        self.overlapsPublication = overlapsPublication
        inbox = Inbox(batchLimit: maxBatch, highWater: highWater)
    }

    /// Queues log lines; suspends while the queue is over its high-water mark.
    func append(_ rows: [LogRow]) async {
        guard !rows.isEmpty else { return }
        await inbox.appendWhenRoom(rows.map { .log($0) })
    }

    /// Queues a unit of work; it is answered with ``StoreError/writerStopped`` once the loop has ended.
    func enqueue(_ work: Work, fail: @escaping @Sendable (any Error) -> Void) {
        if !inbox.append(contentsOf: [.work(work, fail: fail)]) { fail(StoreError.writerStopped) }
    }

    /// Why commits are failing right now, if they are.
    var problem: String? { failure.withLock { $0 } }

    /// Drains until a graceful shutdown, or a cancellation (``Inbox/next()``): either way what was
    /// accepted is committed first, as far as the database lets it. `commit` writes a batch in one
    /// transaction; `refusal` is what its callers are told when it throws; `refused` runs then.
    func run(commit: @escaping @Sendable ([Operation]) async throws -> Committed,
             refusal: @escaping @Sendable (any Error) -> any Error = { $0 },
             refused: @escaping @Sendable () async -> Void = {}) async {
        await withGracefulShutdownHandler {
            var publishing: Task<Void, Never>?
            while let batch = await inbox.next() {
                guard let committed = await commitUntilDurable(batch, commit: commit, refusal: refusal, refused: refused) else {
                    continue
                }
                await publishing?.value
                if overlapsPublication {
                    publishing = Task { await committed() }
                } else {
                    await committed()
                }
            }
            await publishing?.value
        } onGracefulShutdown: {
            self.inbox.close()
        }
    }

    /// What to publish once `batch` has committed; nil if nothing of it was stored (its callers were answered).
    private func commitUntilDurable(_ batch: [Operation], commit: @Sendable ([Operation]) async throws -> Committed,
                                    refusal: @Sendable (any Error) -> any Error,
                                    refused: @Sendable () async -> Void) async -> Committed? {
        var batch = batch
        var backoff = Backoff(from: .milliseconds(50), upTo: .seconds(5))
        var failingSince: ContinuousClock.Instant?
        while true {
            do {
                let start = ContinuousClock.now
                let committed = try await commit(batch)
                let elapsed = (ContinuousClock.now - start).components
                commitTime.recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
                batchRows.record(batch.count)
                if failure.withLock({ $0.take() }) != nil { logger.notice("database writes succeed again") }
                return committed
            } catch {
                await refused()
                let error = refusal(error)
                failure.withLock { $0 = "database writes are failing (retrying, nothing accepted is dropped): \(error)" }
                batch = answer(batch, error)
                guard !batch.isEmpty else { return nil }
                logger.error("database write failed, will retry", metadata: ["error": "\(error)", "rows": "\(batch.count)"])
                let since = failingSince ?? .now
                failingSince = since
                if inbox.isClosing && ContinuousClock.now - since > Writer.shutdownPatience {
                    abandon(batch, because: error)
                    return nil
                }
                try? await Task.sleep(for: backoff.next())
                _ = answer(inbox.remove { if case .work = $0 { true } else { false } }, error)
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

    /// Gives up the log lines of a batch and everything still queued: shutdown cannot wait for the database for ever.
    private func abandon(_ batch: [Operation], because error: any Error) {
        let lines = batch.count + answer(inbox.abandon(), error).count
        logger.critical("""
            shutting down with the database refusing writes for over \(Writer.shutdownPatience): \(lines) log lines are given up \
            (their jobs fail at the next start): \(error)
            """)
    }
}
