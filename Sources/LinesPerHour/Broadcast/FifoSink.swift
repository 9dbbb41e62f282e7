import Glibc
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Writes every event as one line to a named pipe that anyone can `cat`.
///
/// It never blocks the daemon: events are queued (bounded) by the broadcast
/// handler and written by this service's own loop with non-blocking writes.
/// With no reader, or a reader too slow for the rate, lines are dropped and
/// counted; the count is reported on the next line that gets through and in
/// `lph_fifo_lines_dropped_total`.
///
/// Lines are written in chunks of at most `PIPE_BUF` bytes, which the kernel
/// writes whole or not at all: a reader never sees half a line.
public final class FifoSink: Service, Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case text, json
    }

    private let path: String
    private let format: Format
    private let broadcaster: Broadcaster
    private let logger: Logger
    private let capacity: Int
    private let inbox = Inbox<Event>()
    /// Lines dropped and not yet reported on a line that got through.
    private let unreported = Mutex(0)
    private let droppedCounter = Counter(label: "lph_fifo_lines_dropped_total")
    static let chunkLimit = Int(PIPE_BUF)

    init(path: String, format: Format, broadcaster: Broadcaster, logger: Logger, capacity: Int = 20_000) {
        self.path = path
        self.format = format
        self.broadcaster = broadcaster
        self.logger = logger
        self.capacity = capacity
    }

    /// Creates the FIFO, or checks that what is there is one, and makes it
    /// readable by the daemon's user only, or also by `group` (0660).
    public static func create(at path: String, group: String? = nil) throws {
        if mkfifo(path, 0o600) != 0 {
            let err = errno
            var st = stat()
            guard err == EEXIST, lstat(path, &st) == 0 else {
                throw DaemonError("cannot create the FIFO \(path): \(String(cString: strerror(err)))")
            }
            guard st.st_mode & S_IFMT == S_IFIFO else {
                throw DaemonError("\(path) exists and is not a FIFO; move it away and restart")
            }
        }
        if let group {
            guard let entry = getgrnam(group) else { throw DaemonError("--fifo-group: no group named \(group)") }
            guard chown(path, uid_t.max, entry.pointee.gr_gid) == 0 else {
                throw DaemonError("cannot give the FIFO \(path) to group \(group): \(String(cString: strerror(errno)))")
            }
        }
        guard chmod(path, group == nil ? 0o600 : 0o660) == 0 else {
            throw DaemonError("cannot set the FIFO's mode: \(String(cString: strerror(errno)))")
        }
    }

    public func run() async throws {
        let token = broadcaster.subscribe { [weak self] events in self?.enqueue(events) }
        defer { broadcaster.unsubscribe(token) }
        var fd: Int32 = -1
        defer { if fd >= 0 { close(fd) } }
        await withGracefulShutdownHandler {
            while let events = await inbox.next() {
                fd = write(events, to: fd)
            }
        } onGracefulShutdown: {
            self.inbox.close()
        }
    }

    /// On the publishing path: never waits. What does not fit is dropped and counted.
    private func enqueue(_ events: [Event]) {
        let overflow = inbox.append(events, capacity: capacity)
        if overflow > 0 { unreported.withLock { $0 += overflow } }
    }

    // MARK: - Writing

    /// Writes the events through `fd` (opening the FIFO if there is a reader
    /// now) and returns the descriptor to use next time, or -1.
    private func write(_ events: [Event], to fd: Int32) -> Int32 {
        var fd = fd
        if fd < 0 {
            fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else {
                countDropped(events.count)
                return -1
            }
        }
        let pendingDrops = unreported.withLock { n in
            defer { n = 0 }
            return n
        }
        var chunk: [UInt8] = pendingDrops > 0 ? line(forDrops: pendingDrops) : []
        var noticeSent = pendingDrops == 0
        var inChunk = 0
        var dropped = 0
        // Sends the chunk; a full pipe drops it (the reader is slow, but still there),
        // a closed one ends the writing (the reader left).
        func send() -> Bool {
            defer {
                chunk.removeAll(keepingCapacity: true)
                inChunk = 0
            }
            guard !chunk.isEmpty else { return true }
            let written = chunk.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written == chunk.count {
                noticeSent = true
                return true
            }
            dropped += inChunk
            return written < 0 && errno == EAGAIN
        }
        for (index, event) in events.enumerated() {
            let next = line(for: event)
            if chunk.count + next.count > Self.chunkLimit, !send() {
                close(fd)
                countDropped(dropped + events.count - index + (noticeSent ? 0 : pendingDrops))
                return -1
            }
            chunk += next
            inChunk += 1
        }
        guard send() else {
            close(fd)
            countDropped(dropped + (noticeSent ? 0 : pendingDrops))
            return -1
        }
        countDropped(dropped + (noticeSent ? 0 : pendingDrops))
        return fd
    }

    private func countDropped(_ n: Int) {
        guard n > 0 else { return }
        droppedCounter.increment(by: n)
        unreported.withLock { $0 += n }
    }

    // MARK: - Line formats

    func line(for event: Event) -> [UInt8] {
        switch format {
        case .text:
            let text = TerminalText.escaped(event.text)
            let job = event.jobID.map { " [job=\($0)]" } ?? ""
            return fitted("\(event.timestamp) \(event.stream.rawValue)\(job) \(event.level.rawValue) ", text, "")
        case .json:
            let head = "{\"id\":\(event.id),\"stream\":\"\(event.stream.rawValue)\",\"job_id\":\(JSONText.optional(event.jobID)),"
                + "\"level\":\"\(event.level.rawValue)\",\"timestamp\":\"\(event.timestamp)\",\"text\":"
            return fitted(head, JSONText.quote(event.text), "}", jsonString: true)
        }
    }

    func line(forDrops n: Int) -> [UInt8] {
        let text = "fifo: \(n) lines dropped (no reader, or a reader too slow)"
        let now = Timestamp.now()
        switch format {
        case .text:
            return Array("\(now) logs warning \(text)\n".utf8)
        case .json:
            return Array("{\"id\":null,\"stream\":\"logs\",\"job_id\":null,\"level\":\"warning\",\"timestamp\":\"\(now)\",\"dropped\":\(n),\"text\":\(JSONText.quote(text))}\n".utf8)
        }
    }

    /// `head + body + tail + "\n"`, with the body cut so that the line fits in
    /// one atomic pipe write.
    private func fitted(_ head: String, _ body: String, _ tail: String, jsonString: Bool = false) -> [UInt8] {
        var bytes = Array(head.utf8)
        let room = Self.chunkLimit - bytes.count - tail.utf8.count - 1
        var bodyBytes = Array(body.utf8)
        if bodyBytes.count > room {
            let marker = Array("…[cut]".utf8)
            var cut = room - marker.count - (jsonString ? 1 : 0)
            while cut > 0 && (bodyBytes[cut] & 0xC0) == 0x80 { cut -= 1 }  // keep UTF-8 whole
            if jsonString {
                // Never cut inside an escape sequence.
                while cut > 0, let slash = bodyBytes[max(0, cut - 6)..<cut].lastIndex(of: 92) { cut = slash }
            }
            bodyBytes = Array(bodyBytes[..<cut]) + marker + (jsonString ? [34] : [])
        }
        bytes += bodyBytes
        bytes += Array(tail.utf8)
        bytes.append(10)
        return bytes
    }
}
