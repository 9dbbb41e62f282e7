import CInotifyTools
import Foundation
import Synchronization

/// One filesystem event, as a value.
public struct WatchEvent: Sendable, Equatable {
    /// The watched directory the event happened in (no trailing slash).
    public var directory: String
    /// The entry's name inside `directory`; empty for events on the directory itself.
    public var name: String
    public var mask: UInt32
    public var cookie: UInt32

    public var path: String { name.isEmpty ? directory : directory + "/" + name }
    public var isDirectory: Bool { mask & UInt32(IN_ISDIR) != 0 }
    public var isOverflow: Bool { mask & UInt32(IN_Q_OVERFLOW) != 0 }
    public func has(_ flag: Int32) -> Bool { mask & UInt32(flag) != 0 }
}

/// The daemon's one door to inotify, through libinotifytools.
///
/// libinotifytools keeps all of its state in process globals and returns
/// events in a static buffer, so every call to it is made on one thread that
/// this type owns. Callers register a directory with a handler; the thread
/// calls the handler with each event as a value (handlers must return at
/// once). A queue overflow is delivered to every handler, which must then
/// rescan: events were lost.
///
/// libinotifytools exposes no descriptor to poll, so requests from other
/// threads wake the owner thread by touching (`fchmod`) an unlinked temporary
/// file that it watches: nothing is left on disk, whatever way the process ends.
public final class Inotify: Sendable {
    public typealias Handler = @Sendable (WatchEvent) -> Void

    public struct Handle: Sendable, Hashable {
        let id: Int
        let directory: String
    }

    /// The process-wide instance: inotify through libinotifytools is a process singleton.
    public static let shared = Inotify()

    private enum Request: Sendable {
        case add(id: Int, directory: String, mask: UInt32, handler: Handler, done: @Sendable (String?) -> Void)
        case remove(Handle, done: @Sendable () -> Void)
    }

    private struct Root {
        var directory: String
        var handler: Handler
    }

    private let requests = Mutex<(nextID: Int, pending: [Request])>((0, []))
    private let wakeFD: Int32
    private let wakeWD: Int32
    private let startError: String?

    private init() {
        var template = Array("/tmp/lph-inotify-wake.XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        let path = String(cString: template)
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
        let thread = Thread { [self] in self.loop() }
        thread.name = "lph-inotify"
        thread.start()
    }

    /// Watches one directory (not its subdirectories) for the events in `mask`.
    public func watch(_ directory: String, mask: Int32, handler: @escaping Handler) async throws -> Handle {
        if let startError { throw DaemonError(startError) }
        let id = requests.withLock { r in
            r.nextID += 1
            return r.nextID
        }
        let failure: String? = await withCheckedContinuation { c in
            send(.add(id: id, directory: Self.normalized(directory), mask: UInt32(mask), handler: handler) { c.resume(returning: $0) })
        }
        if let failure { throw DaemonError(failure) }
        return Handle(id: id, directory: Self.normalized(directory))
    }

    public func unwatch(_ handle: Handle) async {
        await withCheckedContinuation { c in send(.remove(handle) { c.resume() }) }
    }

    private func send(_ request: Request) {
        requests.withLock { $0.pending.append(request) }
        fchmod(wakeFD, 0o600)
    }

    private static func normalized(_ path: String) -> String {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p
    }

    // MARK: - The owner thread

    private func loop() {
        var roots: [Int: Root] = [:]
        var byDirectory: [String: Int] = [:]
        while true {
            guard let raw = inotifytools_next_event(-1) else {
                usleep(10_000)  // an error from read(2): do not spin
                continue
            }
            let wd = raw.pointee.wd
            let mask = raw.pointee.mask
            let cookie = raw.pointee.cookie
            let name = raw.pointee.len > 0
                ? String(cString: UnsafeRawPointer(raw).advanced(by: MemoryLayout<inotify_event>.size).assumingMemoryBound(to: CChar.self))
                : ""
            if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                for root in roots.values {
                    root.handler(WatchEvent(directory: root.directory, name: "", mask: mask, cookie: 0))
                }
                continue
            }
            if wd == wakeWD {
                serveRequests(&roots, &byDirectory)
                continue
            }
            guard let dirC = inotifytools_filename_from_wd(wd) else { continue }
            let directory = Self.normalized(String(cString: dirC))
            if let id = byDirectory[directory], let root = roots[id] {
                root.handler(WatchEvent(directory: directory, name: name, mask: mask, cookie: cookie))
            }
        }
    }

    private func serveRequests(_ roots: inout [Int: Root], _ byDirectory: inout [String: Int]) {
        let pending = requests.withLock { r in
            defer { r.pending.removeAll() }
            return r.pending
        }
        for request in pending {
            switch request {
            case let .add(id, directory, mask, handler, done):
                if inotifytools_watch_file(directory, Int32(bitPattern: mask)) == 0 {
                    let err = inotifytools_error()
                    let hint = err == ENOSPC ? " (the inotify watch limit, fs.inotify.max_user_watches, is reached)" : ""
                    done("cannot watch \(directory): \(String(cString: strerror(err)))\(hint)")
                } else {
                    roots[id] = Root(directory: directory, handler: handler)
                    byDirectory[directory] = id
                    done(nil)
                }
            case let .remove(handle, done):
                if roots.removeValue(forKey: handle.id) != nil {
                    byDirectory.removeValue(forKey: handle.directory)
                    _ = inotifytools_remove_watch_by_filename(handle.directory)
                }
                done()
            }
        }
    }
}
