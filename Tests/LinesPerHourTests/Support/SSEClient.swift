import Foundation
import Synchronization

/// A plain HTTP/1.1 client on a real socket, for event streams: it runs on a
/// thread of its own, decodes chunked bodies and collects SSE frames. It can
/// hold off reading (a slow client) and hang up after N frames.
final class SSEClient: Sendable {
    struct Frame: Sendable, Equatable {
        var id: Int64?
        var event: String
        var data: String
    }

    private struct State {
        var frames: [Frame] = []
        var status = 0
        var headers = ""
        var ended = false
        var completed = false
        var paused = false
        var stop = false
    }

    private let state = Mutex(State())
    private let fd: Int32

    /// Connects and sends `GET path`; `hangUpAfter` closes the socket once that many frames arrived.
    init(port: Int, path: String, token: String?, lastEventID: Int64? = nil, hangUpAfter: Int? = nil) throws {
        fd = try loopbackConnection(port: port)
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        if let lastEventID { request += "Last-Event-ID: \(lastEventID)\r\n" }
        request += "\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        Thread { [self] in self.loop(hangUpAfter: hangUpAfter) }.start()
    }

    var frames: [Frame] { state.withLock { $0.frames } }
    var status: Int { state.withLock { $0.status } }
    var headers: String { state.withLock { $0.headers } }
    /// True once the server ended the response (or the client hung up).
    var ended: Bool { state.withLock { $0.ended } }
    /// True once the response's last chunk arrived (a response ended, not a connection cut).
    var completed: Bool { state.withLock { $0.completed } }
    /// The answer's status once it came; 0 if the connection ended without one,
    /// or none came within `timeout` (a blocking wait, for a probe that checks at once).
    func awaitStatus(timeout: Duration = .seconds(30)) -> Int {
        let deadline = ContinuousClock.now + timeout
        while status == 0 && !ended && ContinuousClock.now < deadline { usleep(1000) }
        return status
    }
    func pause() { state.withLock { $0.paused = true } }
    func resume() { state.withLock { $0.paused = false } }
    func close() { state.withLock { $0.stop = true } }

    private func loop(hangUpAfter: Int?) {
        defer {
            Glibc.close(fd)
            state.withLock { $0.ended = true }
        }
        var raw: [UInt8] = []
        var body: [UInt8] = []
        var headerDone = false
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let (paused, stop) = state.withLock { ($0.paused, $0.stop) }
            if stop { return }
            var pfd = pollfd(fd: fd, events: paused ? 0 : Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 50) > 0, !paused else { continue }
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return }
            raw += chunk[..<n]
            if !headerDone, let end = raw.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: raw[..<end.lowerBound], as: UTF8.self)
                let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
                state.withLock { $0.status = status; $0.headers = head }
                raw.removeSubrange(..<end.upperBound)
                headerDone = true
            }
            guard headerDone else { continue }
            // Chunked transfer: <hex size>\r\n<data>\r\n … 0\r\n\r\n
            while let line = raw.firstRange(of: Array("\r\n".utf8)),
                  let size = Int(String(decoding: raw[..<line.lowerBound], as: UTF8.self), radix: 16),
                  raw.count >= line.upperBound + size + 2 {
                if size == 0 {
                    parse(&body)
                    state.withLock { $0.completed = true }
                    return
                }
                body += raw[line.upperBound..<(line.upperBound + size)]
                raw.removeSubrange(..<(line.upperBound + size + 2))
            }
            parse(&body)
            if let hangUpAfter, frames.count >= hangUpAfter { return }
        }
    }

    private func parse(_ body: inout [UInt8]) {
        var found: [Frame] = []
        while let end = body.firstRange(of: Array("\n\n".utf8)) {
            let text = String(decoding: body[..<end.lowerBound], as: UTF8.self)
            body.removeSubrange(..<end.upperBound)
            var frame = Frame(id: nil, event: "message", data: "")
            var isComment = true
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix(":") { continue }
                isComment = false
                if line.hasPrefix("id: ") { frame.id = Int64(line.dropFirst(4)) }
                if line.hasPrefix("event: ") { frame.event = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { frame.data = String(line.dropFirst(6)) }
            }
            if !isComment { found.append(frame) }
        }
        if !found.isEmpty { state.withLock { $0.frames += found } }
    }
}
