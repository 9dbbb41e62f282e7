import Glibc
import Logging
import ServiceLifecycle
import Synchronization

/// Takes job files from the spool, one at a time in the order they arrive.
///
/// The order of steps is what makes a `kill -9` at any moment harmless:
///
/// 1. read and check the file where it lies, in `incoming/`;
/// 2. commit the job row, recording the file's name and inode (`spool_filed = 0`);
/// 3. rename the file to `accepted/<job-id>-<name>`;
/// 4. mark the row filed.
///
/// A crash before 2 leaves the file in `incoming/`, taken again at start.
/// A crash between 2 and 4 leaves a row not yet filed: at start, ``recover()``
/// finishes the rename (same name, same inode) or sees it done, before any
/// file is read, so the file never makes a second job. A rejected file gets
/// its `.error` written before it is moved, so a crash leaves it in
/// `incoming/` to be judged again. No job file is ever deleted.
final class Intake: Service, Sendable {
    private let spool: Spool
    private let store: any Store
    private let defaultUser: String?
    private let onAccepted: @Sendable () -> Void
    private let logger: Logger
    private let problemState = Mutex<String?>(nil)

    /// Set while job files cannot be taken: the spool folder removed, the database refusing claims.
    var problem: String? { problemState.withLock { $0 } }

    init(spool: Spool, store: any Store, defaultUser: String?, logger: Logger,
         onAccepted: @escaping @Sendable () -> Void) {
        self.spool = spool
        self.store = store
        self.defaultUser = defaultUser
        self.logger = logger
        self.onAccepted = onAccepted
    }

    /// On a thread of its own: reading, checking and renaming files blocks,
    /// and must not hold up the API or the other stages.
    func run() async throws {
        try await DedicatedThread.run(named: "lph-intake") { try await takeFiles() }
    }

    private func takeFiles() async throws {
        try await recover()
        let (names, feed) = AsyncStream<String?>.makeStream()
        // A regular file is taken once closed after writing or renamed in; anything
        // else (a symlink, a FIFO, a folder) is never "written", so it is judged on creation.
        let mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF
        let spool = self.spool
        let (handle, _) = try await Inotify.shared.watch(spool.incoming, mask: mask) { [logger] event in
            if event.isOverflow {
                feed.yield(nil)
            } else if event.has(IN_DELETE_SELF) || event.has(IN_MOVE_SELF) {
                let problem = "the spool folder \(event.directory) was removed or moved: no job file can arrive until the daemon restarts"
                self.problemState.withLock { $0 = problem }
                logger.critical("\(problem)")
            } else if event.name.isEmpty {
                return
            } else if event.has(IN_CREATE) {
                if spool.kind(of: event.name) == .other { feed.yield(event.name) }
            } else if event.has(IN_CLOSE_WRITE) {
                // `touch` then write: an empty file closed is not a submission yet.
                if spool.kind(of: event.name) != .emptyFile { feed.yield(event.name) }
            } else {
                feed.yield(event.name)
            }
        }
        var retry = TryAgain(feed: feed)
        await sweep(&retry)
        for await name in names.cancelOnGracefulShutdown() {
            if let name {
                if await take(name) { retry = TryAgain(feed: feed) } else { retry.later(name) }
            } else {
                await sweep(&retry)
            }
        }
        await Inotify.shared.unwatch(handle)
    }

    /// Everything in `incoming/`, oldest first: at start, and after an
    /// inotify overflow lost events.
    private func sweep(_ retry: inout TryAgain) async {
        for name in spool.waiting() where await !take(name) { retry.later(name) }
    }

    /// Files that could not be claimed for a reason of the daemon's (the
    /// database refusing writes: a full disk) stay in `incoming/` and are
    /// tried again, at growing intervals, until the claim goes through.
    struct TryAgain {
        let feed: AsyncStream<String?>.Continuation
        private var backoff = Backoff(from: .milliseconds(250), upTo: .seconds(10))

        init(feed: AsyncStream<String?>.Continuation) {
            self.feed = feed
        }

        mutating func later(_ name: String) {
            let (wait, feed) = (backoff.next(), feed)
            Task {
                try? await Task.sleep(for: wait)
                feed.yield(name)
            }
        }
    }

    /// Finishes the claims a crash interrupted (see the type's comment).
    func recover() async throws {
        let claims = try await store.unfiledClaims()
        for claim in claims {
            if !spool.isFiled(claim.name, job: claim.job) {
                if spool.inode(of: claim.name) == claim.inode {
                    // One file that cannot be moved must not keep the daemon from starting: the sweep tries it again.
                    do {
                        try spool.file(claim.name, job: claim.job)
                    } catch {
                        logger.error("job \(claim.job): \(claim.name) cannot be filed yet, it is tried again: \(error)")
                        continue
                    }
                    logger.notice("finished filing \(claim.name) as job \(claim.job) after a restart")
                } else {
                    logger.warning("job \(claim.job): its file \(claim.name) left incoming/ before it was filed; the job keeps its specification")
                }
            }
            try await store.markFiled(job: claim.job)
        }
    }

    /// Takes or rejects one file; false when it stays for a reason of the daemon's.
    private func take(_ name: String) async -> Bool {
        guard !JobFile.isIgnored(name) else { return true }
        switch spool.read(name) {
        case .vanished, .busy:
            return true
        case .refused(let rejection):
            return await reject(name, rejection)
        case .taken(let file):
            do {
                let request = try JobFile.parse(name: name, bytes: file.bytes)
                try await accept(name, request, inode: file.inode)
                if problemState.withLock({ $0.take() }) != nil { logger.notice("job files are taken again") }
                return true
            } catch let rejection as Rejection {
                return await reject(name, rejection)
            } catch {
                problemState.withLock { $0 = "job files wait in incoming/ (they are tried again): \(error)" }
                logger.error("could not take \(name), it stays in incoming/ and is tried again: \(error)")
                return false
            }
        }
    }

    /// The door for jobs that do not come as files (the HTTP API): the same
    /// checks, the same claim, and a record of what was asked in `accepted/`.
    func submit(_ request: JobRequest) async throws -> Int64 {
        let request = try JobFile.validated(request)
        let job = try await store.claim(request, defaultUser: defaultUser, spoolName: nil, spoolInode: nil)
        spool.record(request, job: job)
        onAccepted()
        return job
    }

    private func accept(_ name: String, _ request: JobRequest, inode: UInt64) async throws {
        let job = try await store.claim(request, defaultUser: defaultUser, spoolName: name, spoolInode: inode)
        try spool.file(name, job: job)
        onAccepted()
        try await store.markFiled(job: job)
    }

    /// Files a rejected file; false when it could not be moved (it stays to be judged again).
    private func reject(_ name: String, _ rejection: Rejection) async -> Bool {
        let target: String
        do {
            target = try spool.reject(name, rejection)
        } catch {
            logger.error("could not reject \(name), it stays in incoming/: \(error)")
            return false
        }
        logger.notice("rejected \(name): \(rejection.reason)")
        do {
            try await store.recordRejection(of: target, reason: rejection.reason)
        } catch {
            logger.error("could not record the rejection of \(name): \(error)")
        }
        return true
    }
}
