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
        // Names as inotify tells them; nil after an overflow lost some (a sweep finds them).
        let names = Inbox<String?>()
        // A regular file is taken once closed after writing or renamed in; anything
        // else (a symlink, a FIFO, a folder) is never "written", so it is judged on creation.
        let mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF
        let spool = self.spool
        let (handle, _) = try await Inotify.shared.watch(spool.incoming, mask: mask) { [logger] event in
            if event.isOverflow {
                names.append(contentsOf: [nil])
            } else if event.has(IN_DELETE_SELF) || event.has(IN_MOVE_SELF) {
                let problem = "the spool folder \(event.directory) was removed or moved: no job file can arrive until the daemon restarts"
                self.problemState.withLock { $0 = problem }
                logger.critical("\(problem)")
            } else if event.name.isEmpty {
                return
            } else if event.has(IN_CREATE) {
                if spool.kind(of: event.name) == .other { names.append(contentsOf: [event.name]) }
            } else if event.has(IN_CLOSE_WRITE) {
                // `touch` then write: an empty file closed is not a submission yet.
                if spool.kind(of: event.name) != .emptyFile { names.append(contentsOf: [event.name]) }
            } else {
                names.append(contentsOf: [event.name])
            }
        }
        var retry = TryAgain(names: names)
        await take(spool.waiting(), &retry)
        await withGracefulShutdownHandler {
            // Every name told while the last batch was taken, at once: a burst of files is a few writes.
            while let batch = await names.next() {
                await take(batch.contains(nil) ? spool.waiting() : batch.compactMap { $0 }, &retry)
            }
        } onGracefulShutdown: {
            names.close()
        }
        await Inotify.shared.unwatch(handle)
    }

    /// Files that could not be claimed for a reason of the daemon's (the
    /// database refusing writes: a full disk) stay in `incoming/` and are
    /// tried again, at growing intervals, until the claim goes through.
    struct TryAgain {
        let names: Inbox<String?>
        private var backoff = Backoff(from: .milliseconds(250), upTo: .seconds(10))

        init(names: Inbox<String?>) {
            self.names = names
        }

        mutating func later(_ name: String) {
            let (wait, names) = (backoff.next(), names)
            Task {
                try? await Task.sleep(for: wait)
                names.append(contentsOf: [name])
            }
        }

        /// A claim went through: the next refusal waits the shortest time again.
        mutating func succeeded() {
            self = TryAgain(names: names)
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
            try await store.markFiled(jobs: [claim.job])
        }
    }

    /// Takes or rejects files, oldest first. The good ones are claimed in one
    /// write (``Store/claimFiles(_:defaultUser:)``), then filed, then marked
    /// filed in one more: a burst of files costs a few transactions, not two
    /// each, with the same order of steps (and so the same crash safety) as one file.
    private func take(_ names: [String], _ retry: inout TryAgain) async {
        var claims: [SpoolClaim] = []
        var seen = Set<String>()  // inotify may tell a name twice in a burst (created, then closed)
        for name in names where !JobFile.isIgnored(name) && seen.insert(name).inserted {
            switch spool.read(name) {
            case .vanished, .busy:
                continue
            case .refused(let rejection):
                if await !reject(name, rejection) { retry.later(name) }
            case .taken(let file):
                do {
                    claims.append(SpoolClaim(name: name, inode: file.inode, request: try JobFile.parse(name: name, bytes: file.bytes)))
                } catch {
                    if await !reject(name, error) { retry.later(name) }
                }
            }
        }
        for start in stride(from: 0, to: claims.count, by: Self.claimsPerWrite) {
            await accept(Array(claims[start..<min(start + Self.claimsPerWrite, claims.count)]), &retry)
        }
    }

    static let claimsPerWrite = 500

    private func accept(_ claims: [SpoolClaim], _ retry: inout TryAgain) async {
        let outcomes: [Result<Int64, Rejection>]
        do {
            outcomes = try await store.claimFiles(claims, defaultUser: defaultUser)
        } catch {
            problemState.withLock { $0 = "job files wait in incoming/ (they are tried again): \(error)" }
            logger.error("could not take \(claims.count) job files, they stay in incoming/ and are tried again: \(error)")
            for claim in claims { retry.later(claim.name) }
            return
        }
        if problemState.withLock({ $0.take() }) != nil { logger.notice("job files are taken again") }
        retry.succeeded()
        var filed: [Int64] = []
        for (claim, outcome) in zip(claims, outcomes) {
            switch outcome {
            case .success(let job):
                do {
                    try spool.file(claim.name, job: job)
                    filed.append(job)
                } catch {
                    // Claimed, not filed: taken again, its claim is found (same name, same inode), and filing is tried again.
                    logger.error("job \(job): \(claim.name) cannot be filed yet, it is tried again: \(error)")
                    retry.later(claim.name)
                }
            case .failure(let rejection):
                if await !reject(claim.name, rejection) { retry.later(claim.name) }
            }
        }
        guard !filed.isEmpty else { return }
        onAccepted()
        // Refused, the rows stay unfiled, which only the next start's recovery looks at: harmless.
        do { try await store.markFiled(jobs: filed) } catch { logger.error("could not mark \(filed.count) jobs filed: \(error)") }
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

    /// Files a rejected file; false when it could not be moved (it stays to be judged again).
    private func reject(_ name: String, _ error: any Error) async -> Bool {
        let rejection = error as? Rejection ?? Rejection("\(error)")
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
