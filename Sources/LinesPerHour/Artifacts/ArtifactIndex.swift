import CInotifyTools
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The index of `generated_projects/`: every regular file (and symlink) an
/// `artifacts` row, kept true by inotify and never by polling.
///
/// Events are taken in batches (whatever queued while the last batch was
/// recorded), read from disk here, and recorded in one unit of work; a
/// change in a running job's project (a file still being appended to, too)
/// has the ``ChangeTracker`` measure that job's diff. A start, a
/// queue overflow and the slow safety sweep each rescan the whole tree and
/// reconcile it with the table. ``barrier(project:)`` proves that every
/// change made before it is recorded.
///
/// When inotify cannot see everything (a folder could not be watched, the
/// watch limit reached; or the root itself was removed) the index says so
/// loudly (an error in the log stream, `/healthz`) and runs degraded: a
/// rescan every few seconds, retrying the watches, until all are in place.
final class ArtifactIndex: Service, Sendable {
    enum Item: Sendable {
        case event(WatchEvent)
        case rescan(reason: String)
        /// A `.gitignore` changed: folders it now ignores are unwatched, and a rescan drops their rows.
        case ignoreRulesChanged
        case flushJobEvents
    }

    let root: String
    private let store: any Store
    /// Project → the job running in it now (the executor's).
    private let runningJobs: @Sendable () -> [String: Int64]
    private let changeTracker: ChangeTracker
    private let ignore: IgnoreRules
    private let logger: Logger
    private let sweepInterval: Duration
    private let inbox: Inbox<Item>
    private let barriers = Barriers()
    private let recorder: ArtifactRecorder
    private let reader: ArtifactReader
    private let degradations: AsyncStream<String>
    private let degradationFeed: AsyncStream<String>.Continuation
    private let problemState = Mutex<String?>(nil)
    /// Paths a walk did not follow in the current batch (too deep, too long), to be reported with it.
    private let unfollowed = Mutex<[String]>([])
    private let watchHandle = Mutex<Inotify.Handle?>(nil)
    /// Folders found ignored or not in the current batch (an event queued before a
    /// `.gitignore` unwatched its folder must not index the file after all).
    private let ignoredFolders = Mutex<[String: Bool]>([:])
    /// Projects where a file was modified (written to, still open) in the current batch.
    private let modified = Mutex<Set<String>>([])
    static let degradedRescan: Duration = .seconds(5)
    private let rescans = Counter(label: "lph_rescans_total")
    private let overflows = Counter(label: "lph_inotify_overflows_total")
    private let watchedFolders = Gauge(label: "lph_watched_folders")

    init(root: String, store: any Store, runningJobs: @escaping @Sendable () -> [String: Int64], changeTracker: ChangeTracker,
         ignore: IgnoreRules, sweepInterval: Duration, logger: Logger) {
        self.root = Inotify.normalized(root)
        self.store = store
        self.runningJobs = runningJobs
        reader = ArtifactReader(root: self.root, runningJobs: runningJobs)
        let inbox = Inbox<Item>()
        self.inbox = inbox
        recorder = ArtifactRecorder(store: store, runningJobs: runningJobs, logger: logger) {
            inbox.append(contentsOf: [.flushJobEvents])
        }
        self.changeTracker = changeTracker
        self.ignore = ignore
        self.sweepInterval = sweepInterval
        self.logger = logger
        (degradations, degradationFeed) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// What the index cannot see right now, if anything.
    var problem: String? { problemState.withLock { $0 } }

    func run() async throws {
        // IN_MODIFY: a file an agent keeps open and appends to counts while it grows, not only once closed.
        let mask = IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF
        let skip: Inotify.Skip = { [ignore] folder in ignore.isIgnored(folder: folder) }
        let (handle, folders) = try await Inotify.shared.watch(root, mask: mask, recursive: true, skip: skip) { [self] event in
            if let reason = event.unwatched {
                degradationFeed.yield(reason)
            } else {
                if event.path == root && (event.has(IN_DELETE_SELF) || event.has(IN_MOVE_SELF)) {
                    degradationFeed.yield("\(root) was removed or moved")
                }
                enqueue(.event(event))
            }
        }
        watchedFolders.record(folders)
        enqueue(.rescan(reason: "start"))
        let sweeper = Task { [self, sweepInterval] in
            while !Task.isCancelled {
                try await Task.sleep(for: sweepInterval)
                enqueue(.rescan(reason: "sweep"))
            }
        }
        let recovery = Task { await runDegraded(handle) }
        watchHandle.withLock { $0 = handle }
        // On a thread of its own: a rescan walks and reads thousands of files,
        // which must not hold up the intake or the API.
        await DedicatedThread.run(named: "lph-index") {
            await withGracefulShutdownHandler {
                while let items = await inbox.next() {
                    await process(items)
                }
            } onGracefulShutdown: {
                self.inbox.close()
            }
        }
        sweeper.cancel()
        recovery.cancel()
        await Inotify.shared.unwatch(handle)
    }

    // MARK: - Degraded mode

    /// Each time inotify cannot see everything: rescans every few seconds and
    /// retries the watches until every folder is watched again.
    private func runDegraded(_ handle: Inotify.Handle) async {
        for await reason in degradations {
            // Already mended (a stale report, or a folder made again at once): catch up and carry on.
            if await Inotify.shared.watchAgain(handle).isEmpty {
                enqueue(.rescan(reason: "after: \(reason)"))
                continue
            }
            var problem: String? = reason
            await report("not every change under \(root) can be seen: \(reason); rescanning every \(Self.degradedRescan) until it can", level: .error)
            problemState.withLock { $0 = reason }
            while let current = problem, !Task.isCancelled {
                enqueue(.rescan(reason: "degraded: \(current)"))
                try? await Task.sleep(for: Self.degradedRescan)
                problem = await Inotify.shared.watchAgain(handle).first?.description
            }
            problemState.withLock { $0 = nil }
            await report("every folder under \(root) is watched again", level: .info)
            enqueue(.rescan(reason: "watched again"))
        }
    }

    /// A line for the daemon's log and the `logs` stream.
    private func report(_ text: String, level: Level) async {
        if level == .error { logger.error("\(text)") } else { logger.notice("\(text)") }
        try? await store.announce(text, level: level, job: nil)
    }

    private func enqueue(_ item: Item) {
        inbox.append(contentsOf: [item])
    }

    // MARK: - A batch

    private func process(_ items: [Item]) async {
        ignoredFolders.withLock { $0.removeAll() }
        var changes: [ArtifactChange] = []
        var notes: [(text: String, level: Level)] = []
        var cookies: [String] = []
        var flush = false
        var written: [ArtifactChange] = []
        // A rescan's chunks already on their way to the writer: the rest commits after them.
        var committing: Task<ArtifactRecorder.Recorded, Never>?
        // One walk sees everything: more rescans asked for in the same batch add nothing.
        var walked = false
        for item in items {
            switch item {
            case .event(let event) where event.isOverflow:
                overflows.increment()
                guard !walked else { continue }
                walked = true
                notes.append((await rescan(reason: "inotify queue overflow", into: &changes, cookies: &cookies, committing: &committing), .info))
            case .event(let event):
                let seen = self.changes(for: event, cookies: &cookies)
                changes += seen
                written += seen.filter(\.isWritten)
            case .rescan(let reason):
                guard !walked else { continue }
                walked = true
                notes.append((await rescan(reason: reason, into: &changes, cookies: &cookies, committing: &committing), .info))
            case .flushJobEvents:
                flush = true
            case .ignoreRulesChanged:
                if let handle = watchHandle.withLock({ $0 }) { await Inotify.shared.prune(handle) }
                walked = true
                notes.append((await rescan(reason: "ignore rules changed", into: &changes, cookies: &cookies, committing: &committing), .info))
            }
        }
        if let warning = unfollowedWarning() { notes.append((warning, .warning)) }
        notes += unattributed(written).map { ($0, .info) }
        var recorded = await committing?.value ?? ArtifactRecorder.Recorded()
        if !changes.isEmpty || !notes.isEmpty || flush {
            recorded.add(await recorder.commit(changes, notes: notes, flushPending: flush))
        }
        measure(recorded.touched, modifiedIn: modified.withLock { projects in
            defer { projects.removeAll() }
            return projects
        })
        if recorded.refused {
            // A full disk: one rescan later finds what was not stored, and these cookies again (they are still on disk).
            logger.error("could not record the artifact changes, rescanning in \(Self.degradedRescan)")
            Task { [self] in
                try await Task.sleep(for: Self.degradedRescan)
                enqueue(.rescan(reason: "after a refused write"))
            }
        } else {
            barriers.seen(cookies)
        }
    }

    private func isIgnored(_ folder: String) -> Bool {
        if let known = ignoredFolders.withLock({ $0[folder] }) { return known }
        let ignored = ignore.isIgnored(folder: folder)
        ignoredFolders.withLock { $0[folder] = ignored }
        return ignored
    }

    /// Has the change tracker measure the running jobs whose projects changed.
    private func measure(_ touched: Set<Int64>, modifiedIn modifiedProjects: Set<String>) {
        for (project, job) in runningJobs() where touched.contains(job) || modifiedProjects.contains(project) {
            changeTracker.touched(job: job, project: project)
        }
    }

    /// Files written in a project where no job runs (by a person, or by a
    /// process a job left, before it was stopped): indexed, charged to no
    /// job, and said so, one line per project.
    private func unattributed(_ written: [ArtifactChange]) -> [String] {
        let running = runningJobs()
        let byProject = Dictionary(grouping: written.filter { running[$0.project] == nil }, by: \.project)
        return byProject.keys.sorted().map { project in
            let paths = byProject[project]!.map(\.path)
            let shown = paths.prefix(3).joined(separator: ", ") + (paths.count > 3 ? ", …" : "")
            return "\(project): \(paths.count) file\(paths.count == 1 ? "" : "s") written while no job ran (\(shown)): indexed, charged to no job"
        }
    }

    /// What the batch's walks did not follow, said out loud (the daemon's log and the logs stream).
    private func unfollowedWarning() -> String? {
        let paths = unfollowed.withLock { paths in
            defer { paths.removeAll() }
            return paths
        }
        guard let first = paths.first else { return nil }
        let warning = "not indexed: \(paths.count) entries deeper than \(Tree.maxDepth) levels or with paths over \(Tree.maxPath) bytes"
            + " (for instance \(String(first.prefix(200)))…)"
        logger.warning("\(warning)")
        return warning
    }

    // MARK: - Events → changes

    private func changes(for event: WatchEvent, cookies: inout [String]) -> [ArtifactChange] {
        guard let (project, path) = reader.locate(event.path) else { return [] }
        if event.name.hasPrefix(ProjectName.cookiePrefix) {
            if event.has(IN_CLOSE_WRITE) { cookies.append(event.path) }
            return []
        }
        if isIgnored(event.directory) { return [] }
        // A file written to and still open: its row waits for the close, its lines are measured now.
        if event.has(IN_MODIFY) {
            modified.withLock { _ = $0.insert(project) }
            return []
        }
        if let from = event.movedFrom {
            if let (oldProject, oldPath) = reader.locate(from), oldProject == project, !oldPath.isEmpty, !path.isEmpty {
                return event.isDirectory
                    ? [ArtifactChange(project: project, path: path, kind: .movedTree(from: oldPath))]
                    : [reader.moved(from: oldPath, to: event.path, project: project, path: path)]
            }
            // Moved across projects: gone from one, new in the other.
            let gone = reader.locate(from).map { [ArtifactChange(project: $0.project, path: $0.path, kind: event.isDirectory ? .absentTree : .absent)] } ?? []
            return gone + (event.isDirectory ? scan(event.path, cookies: &cookies) : reader.observed(event.path, project: project, path: path))
        }
        if event.isDirectory {
            if event.has(IN_CREATE) || event.has(IN_MOVED_TO) { return scan(event.path, cookies: &cookies) }
            if event.has(IN_DELETE) || event.has(IN_MOVED_FROM) { return [ArtifactChange(project: project, path: path, kind: .absentTree)] }
            return []
        }
        guard !path.isEmpty else { return [] }
        if event.has(IN_DELETE) || event.has(IN_MOVED_FROM) { return [ArtifactChange(project: project, path: path, kind: .absent)] }
        if event.name == ".gitignore" && (event.has(IN_CLOSE_WRITE) || event.has(IN_MOVED_TO)) { enqueue(.ignoreRulesChanged) }
        // A regular file is read once closed after writing; a symlink is never written, so it is read on creation.
        if event.has(IN_CREATE) && !FileFacts.isSymlink(event.path) { return [] }
        return reader.observed(event.path, project: project, path: path)
    }

    /// Every file under a folder, as present. A barrier's cookie found here
    /// was written before the folder was watched: it counts as seen.
    private func scan(_ folder: String, cookies: inout [String]) -> [ArtifactChange] {
        var changes: [ArtifactChange] = []
        Tree.walk(folder, depth: depth(of: folder), skip: ignore.isIgnored(folder:), skipped: { changes += reader.ignoredEntry($0) },
                  beyond: noteUnfollowed) { fullPath, _ in
            guard let (project, path) = reader.locate(fullPath), !path.isEmpty else { return }
            if path.fileName.hasPrefix(ProjectName.cookiePrefix) {
                cookies.append(fullPath)
            } else {
                changes += reader.observed(fullPath, project: project, path: path)
            }
        }
        return changes
    }

    /// Levels below the root.
    private func depth(of folder: String) -> Int {
        folder.utf8.dropFirst(root.utf8.count).filter { $0 == UInt8(ascii: "/") }.count
    }

    private func noteUnfollowed(_ path: String) {
        unfollowed.withLock { $0.append(path) }
    }

    // MARK: - Rescans

    /// Walks the whole tree and adds what differs from the table; returns the
    /// note to log. Barrier cookies that were there before the walk began count
    /// as seen once it ends: every change made before them was walked over.
    ///
    /// A walk that finds many changes (the first index of a tree) hands them
    /// to the writer as it goes, ``ArtifactRecorder/changesPerWrite`` at a time, each after the
    /// one before (`committing`), so the walk and the writer share the cores
    /// instead of taking turns. (The walk does not wait for the writer: when
    /// the writer is the slower, the chunks wait in memory for their turn.)
    private func rescan(reason: String, into changes: inout [ArtifactChange], cookies: inout [String],
                        committing: inout Task<ArtifactRecorder.Recorded, Never>?) async -> String {
        rescans.increment()
        cookies += barriers.onDisk
        // The rows no file was found for yet: what is left after the walk was removed.
        var unseen = (try? await store.artifactSnapshot()) ?? [:]
        var changed = 0
        var files = 0
        Tree.walk(root, skip: ignore.isIgnored(folder:), skipped: { folder in
            let entry = reader.ignoredEntry(folder)
            for change in entry { unseen[change.project]?[change.path] = nil }
            changes += entry
        }, beyond: noteUnfollowed) { fullPath, st in
            guard let (project, path) = reader.locate(fullPath), !path.isEmpty, !path.fileName.hasPrefix(ProjectName.cookiePrefix) else { return }
            files += 1
            if let row = unseen[project]?.removeValue(forKey: path), row.size == Int64(st.st_size),
               row.modified == Timestamp.format(seconds: st.st_mtim.tv_sec, milliseconds: st.st_mtim.tv_nsec / 1_000_000) { return }
            changed += 1
            changes += reader.observed(fullPath, project: project, path: path)
            if changes.count >= ArtifactRecorder.changesPerWrite {
                committing = recorder.commitLater(changes, after: committing)
                changes.removeAll(keepingCapacity: true)
            }
        }
        var removed = 0
        for (project, rows) in unseen {
            for path in rows.keys {
                removed += 1
                changes.append(ArtifactChange(project: project, path: path, kind: .absent))
            }
        }
        let note = "rescan of \(root) (\(reason)): \(files) files, \(changed) new or changed, \(removed) removed"
        logger.notice("\(note)")
        return note
    }

    // MARK: - The completion barrier

    /// Returns once every change made under `project` before the call is
    /// recorded: a cookie file is written there, and the index answers when
    /// its event comes through, after everything queued before it.
    @discardableResult
    func barrier(project: String, timeout: Duration = .seconds(30)) async -> Bool {
        // Only a real folder is indexed: nothing to wait for elsewhere, and no cookie is written through a symlink.
        var st = stat()
        guard lstat("\(root)/\(project)", &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { return true }
        let seen = await barriers.wait(for: "\(root)/\(project)/\(ProjectName.cookiePrefix)\(UUID().uuidString)", timeout: timeout)
        if !seen { logger.warning("the artifact index did not confirm \(project) in time; its last files may be counted late") }
        return seen
    }
}
