import CInotifyTools
import Foundation
import Synchronization

/// The daemon's one door to inotify, through libinotifytools.
///
/// libinotifytools keeps all of its state in process globals and returns
/// events in a static buffer, so every call to it is made on one thread that
/// this type owns. Callers register a directory (alone, or with its whole
/// tree) with a handler; the thread calls the handler with each event as a
/// value (handlers must return at once). A queue overflow is delivered to
/// every handler, which must then rescan: events were lost.
///
/// For trees, the owner thread watches every new or moved-in folder (and the
/// folders inside it) before it hands the event on, so the handler can scan
/// the folder and miss nothing written after `mkdir`. The two halves of a
/// rename inside a tree are paired (the kernel queues them together) and
/// delivered as one event, and libinotifytools' path bookkeeping is moved
/// with a renamed folder. Folders are found with `lstat`: a symlink is never
/// followed. A folder that cannot be watched (the watch limit reached) is
/// reported to the handler as an `unwatched` event, never skipped in silence;
/// ``watchAgain(_:)`` retries every folder of a tree, and brings back a tree
/// whose top was removed and made again.
///
/// libinotifytools exposes no descriptor to poll, so requests from other
/// threads wake the owner thread by touching (`fchmod`) an unlinked temporary
/// file that it watches: nothing is left on disk, whatever way the process ends.
final class Inotify: Sendable {
    typealias Handler = @Sendable (WatchEvent) -> Void
    /// For a tree: folders not to watch (nor anything under them), asked on the owner thread.
    typealias Skip = @Sendable (String) -> Bool

    struct Handle: Sendable, Hashable {
        let id: Int
    }

    /// The process-wide instance: inotify through libinotifytools is a process singleton.
    static let shared = Inotify()

    private enum Request: Sendable {
        case add(id: Int, directory: String, mask: UInt32, recursive: Bool, skip: Skip, handler: Handler,
                 done: @Sendable (Result<Int, DaemonError>) -> Void)
        case remove(Handle, done: @Sendable () -> Void)
        case again(Handle, done: @Sendable ([DaemonError]) -> Void)
        case prune(Handle, done: @Sendable () -> Void)
    }

    private struct Root {
        var directory: String
        var mask: UInt32
        var recursive: Bool
        var skip: Skip
        var handler: Handler
        /// Every folder watched for this root, so that removing it unwatches them all.
        var folders: Set<String>

        func contains(_ directory: String) -> Bool {
            directory == self.directory || (recursive && directory.hasPrefix(self.directory + "/"))
        }
    }

    private let requests = Mutex<(nextID: Int, pending: [Request])>((0, []))
    private let wakeFD: Int32
    private let wakeWD: Int32
    private let startError: String?

    private init() {
        var template = Array("/tmp/lph-inotify-wake.XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        let path = String(decoding: template.prefix { $0 != 0 }.map(UInt8.init(bitPattern:)), as: UTF8.self)
        defer { unlink(path) }
        wakeFD = fd
        guard fd >= 0 else {
            wakeWD = -1
            startError = "cannot create the inotify wake file: \(String(cString: strerror(errno)))"
            return
        }
        guard inotifytools_init(0, 0, 0) != 0, inotifytools_watch_file(path, Int32(IN_ATTRIB)) != 0 else {
            wakeWD = -1
            startError = "inotify is not available: \(String(cString: strerror(inotifytools_error())))"
            return
        }
        wakeWD = inotifytools_wd_from_filename(path)
        startError = nil
        NamedThread.start("lph-inotify") { [self] in loop() }
    }

    /// Watches `directory` (and, when `recursive`, every folder under it, now
    /// and later) for the events in `mask`. Returns the handle and how many
    /// folders are watched.
    func watch(_ directory: String, mask: Int32, recursive: Bool = false, skip: @escaping Skip = { _ in false },
               handler: @escaping Handler) async throws -> (Handle, folders: Int) {
        if let startError { throw DaemonError(startError) }
        let id = requests.withLock { r in
            r.nextID += 1
            return r.nextID
        }
        let result: Result<Int, DaemonError> = await withCheckedContinuation { c in
            send(.add(id: id, directory: Self.normalized(directory), mask: UInt32(bitPattern: mask), recursive: recursive,
                      skip: skip, handler: handler) { c.resume(returning: $0) })
        }
        return (Handle(id: id), try result.get())
    }

    /// Watches every folder of the handle's tree that is not watched yet;
    /// returns why some still cannot be.
    func watchAgain(_ handle: Handle) async -> [DaemonError] {
        await withCheckedContinuation { c in send(.again(handle) { c.resume(returning: $0) }) }
    }

    /// Stops watching the folders of the handle's tree that its `skip` now
    /// names (a `.gitignore` that came after them).
    func prune(_ handle: Handle) async {
        await withCheckedContinuation { c in send(.prune(handle) { c.resume() }) }
    }

    func unwatch(_ handle: Handle) async {
        await withCheckedContinuation { c in send(.remove(handle) { c.resume() }) }
    }

    private func send(_ request: Request) {
        requests.withLock { $0.pending.append(request) }
        fchmod(wakeFD, 0o600)
    }

    static func normalized(_ path: String) -> String {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p
    }

    // MARK: - The owner thread

    /// An event copied out of libinotifytools' static buffer.
    private struct Raw {
        var wd: Int32
        var mask: UInt32
        var cookie: UInt32
        var name: String

        init?(_ event: UnsafeMutablePointer<inotify_event>?) {
            guard let event else { return nil }
            wd = event.pointee.wd
            mask = event.pointee.mask
            cookie = event.pointee.cookie
            name = event.pointee.len > 0
                ? String(cString: UnsafeRawPointer(event).advanced(by: MemoryLayout<inotify_event>.size).assumingMemoryBound(to: CChar.self))
                : ""
        }
    }

    private func loop() {
        var roots: [Int: Root] = [:]
        var next: Raw?
        while true {
            guard let raw = next ?? Raw(inotifytools_next_event(-1)) else {
                usleep(10_000)  // an error from read(2): do not spin
                continue
            }
            next = nil
            if raw.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                for root in roots.values {
                    root.handler(WatchEvent(directory: root.directory, name: "", mask: raw.mask, cookie: 0))
                }
                continue
            }
            if raw.wd == wakeWD {
                serveRequests(&roots)
                continue
            }
            guard let directory = Self.directory(of: raw.wd),
                  let id = roots.first(where: { $0.value.contains(directory) })?.key else { continue }
            var event = WatchEvent(directory: directory, name: raw.name, mask: raw.mask, cookie: raw.cookie)
            if event.has(IN_MOVED_FROM) {
                // Its IN_MOVED_TO half, if the rename stays in watched folders, was queued with it.
                next = Raw(inotifytools_next_event(0))
                if let to = next, to.mask & UInt32(IN_MOVED_TO) != 0, to.cookie == raw.cookie,
                   let toDirectory = Self.directory(of: to.wd), roots[id]!.contains(toDirectory) {
                    next = nil
                    let from = event.path
                    event = WatchEvent(directory: toDirectory, name: to.name, mask: to.mask, cookie: to.cookie, movedFrom: from)
                    if event.isDirectory { renameFolders(from: from, to: event.path, in: &roots[id]!) }
                } else if event.isDirectory {
                    unwatchFolders(under: event.path, in: &roots[id]!)
                }
            } else if roots[id]!.recursive && event.isDirectory && (event.has(IN_CREATE) || event.has(IN_MOVED_TO)) {
                let failures = watchTree(event.path, in: &roots[id]!)
                roots[id]!.handler(event)
                if !failures.isEmpty { roots[id]!.handler(.unwatched(event.path, failures)) }
                continue
            } else if event.isDirectory && event.has(IN_DELETE) {
                roots[id]!.folders = roots[id]!.folders.filter { $0 != event.path && !$0.hasPrefix(event.path + "/") }
            } else if event.name.isEmpty && directory == roots[id]!.directory && (event.has(IN_DELETE_SELF) || event.has(IN_MOVE_SELF)) {
                // The top is gone: nothing is watched until ``watchAgain(_:)``. A deleted tree's watches went
                // with it; a moved one would still report under its old paths, so its watches are removed.
                if event.has(IN_MOVE_SELF) {
                    unwatchFolders(under: directory, in: &roots[id]!)
                } else {
                    roots[id]!.folders.removeAll()
                }
            }
            roots[id]!.handler(event)
        }
    }

    private static func directory(of wd: Int32) -> String? {
        inotifytools_filename_from_wd(wd).map { normalized(String(cString: $0)) }
    }

    private func serveRequests(_ roots: inout [Int: Root]) {
        let pending = requests.withLock { r in
            defer { r.pending.removeAll() }
            return r.pending
        }
        for request in pending {
            switch request {
            case let .add(id, directory, mask, recursive, skip, handler, done):
                var root = Root(directory: directory, mask: mask, recursive: recursive, skip: skip, handler: handler, folders: [])
                let failures = watchAll(&root)
                guard root.folders.contains(directory) else {
                    unwatchFolders(under: directory, in: &root)
                    done(.failure(failures[0]))
                    continue
                }
                roots[id] = root
                done(.success(root.folders.count))
                if !failures.isEmpty { handler(.unwatched(directory, failures)) }
            case let .again(handle, done):
                guard var root = roots[handle.id] else {
                    done([])
                    continue
                }
                let failures = watchAll(&root)
                roots[handle.id] = root
                done(failures)
            case let .prune(handle, done):
                if var root = roots[handle.id] {
                    for folder in root.folders where folder != root.directory && root.skip(folder) {
                        unwatchFolders(under: folder, in: &root)
                    }
                    roots[handle.id] = root
                }
                done()
            case let .remove(handle, done):
                if var root = roots.removeValue(forKey: handle.id) {
                    unwatchFolders(under: root.directory, in: &root)
                }
                done()
            }
        }
    }

    /// Watches the root's folder, and its tree when it is recursive.
    private func watchAll(_ root: inout Root) -> [DaemonError] {
        root.recursive ? watchTree(root.directory, in: &root) : watchFolder(root.directory, in: &root).map { [$0] } ?? []
    }

    /// Watches a folder and every folder under it (never through a symlink);
    /// returns why some could not be (their subfolders are not tried).
    /// Folders deeper than ``Tree/maxDepth`` below the root, or with paths
    /// over ``Tree/maxPath`` bytes, are not watched: the index does not follow them either.
    private func watchTree(_ top: String, in root: inout Root) -> [DaemonError] {
        var failures: [DaemonError] = []
        let rootDepth = root.directory.utf8.filter { $0 == UInt8(ascii: "/") }.count
        var stack = [top]
        while let folder = stack.popLast() {
            guard folder.utf8.filter({ $0 == UInt8(ascii: "/") }).count - rootDepth <= Tree.maxDepth,
                  folder == root.directory || !root.skip(folder) else { continue }
            if let failure = watchFolder(folder, in: &root) {
                failures.append(failure)
                continue
            }
            // Only folders are watched: a file is never stat-ed unless its directory does not say what it is.
            Tree.entries(of: folder) { name, type, folderDescriptor in
                let path = folder + "/" + name
                guard path.utf8.count <= Tree.maxPath, type == DT_DIR || type == DT_UNKNOWN else { return }
                var st = stat()
                if type == DT_DIR || fstatat(folderDescriptor, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mode & S_IFMT == S_IFDIR {
                    stack.append(path)
                }
            }
        }
        return failures
    }

    /// Nil when watched, or when a folder below the top vanished meanwhile (nothing to watch).
    private func watchFolder(_ folder: String, in root: inout Root) -> DaemonError? {
        guard inotifytools_watch_file(folder, Int32(bitPattern: root.mask | UInt32(IN_DONT_FOLLOW | IN_ONLYDIR))) != 0 else {
            let err = inotifytools_error()
            if (err == ENOENT || err == ENOTDIR) && folder != root.directory { return nil }
            let hint = err == ENOSPC ? " (the inotify watch limit, fs.inotify.max_user_watches, is reached)" : ""
            return DaemonError("cannot watch \(folder): \(String(cString: strerror(err)))\(hint)")
        }
        root.folders.insert(folder)
        return nil
    }

    private func unwatchFolders(under top: String, in root: inout Root) {
        for folder in root.folders where folder == top || folder.hasPrefix(top + "/") {
            _ = inotifytools_remove_watch_by_filename(folder + "/")
            root.folders.remove(folder)
        }
    }

    /// A folder renamed inside the tree keeps its watches; libinotifytools is told the new paths.
    private func renameFolders(from old: String, to new: String, in root: inout Root) {
        inotifytools_replace_filename(old + "/", new + "/")
        root.folders = Set(root.folders.map { $0 == old ? new : $0.hasPrefix(old + "/") ? new + $0.dropFirst(old.count) : $0 })
    }
}
