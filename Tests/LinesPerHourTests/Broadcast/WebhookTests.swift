import Foundation
import GRDB
import Synchronization
import Testing
@testable import LinesPerHour

/// Webhooks against a real HTTP receiver on 127.0.0.1 and the real `lph serve`:
/// signed, tried again while the receiver fails, and never lost to a SIGKILL.
@Suite struct WebhookTests {
    @Test func aDeliverySurvivesAFailingReceiverAndASigkillAndIsSigned() async throws {
        let scratch = try Scratch()
        let secret = scratch.file("webhook.key")
        writeFile(secret, "s3cret\n")
        chmod(secret, 0o600)
        let receiver = try WebhookReceiver()
        receiver.answer(500)
        let arguments = ["--webhook", "http://127.0.0.1:\(receiver.port)/hook", "--webhook-secret-file", secret,
                         "--webhook-events", "job_ended,job_failed"]
        var daemon = try ServeProcess(in: scratch, agent: "/bin/true", arguments)
        defer { daemon.terminate() }
        try await eventually("the spool") { FileManager.default.fileExists(atPath: scratch.file("Spool/incoming")) }
        writeFile(scratch.file("Spool/incoming/.hook.tmp"), #"{"project": "Hooked", "specification": "x"}"#)
        #expect(rename(scratch.file("Spool/incoming/.hook.tmp"), scratch.file("Spool/incoming/hook.json")) == 0)
        try await eventually("a first attempt, refused") { !receiver.requests.isEmpty }

        daemon.kill9()
        receiver.answer(200)
        daemon = try ServeProcess(in: scratch, agent: "/bin/true", arguments)
        try await eventually("the delivery, once the receiver takes it", timeout: .seconds(90)) {
            receiver.requests.contains { $0.answered == 200 }
        }
        let delivered = try #require(receiver.requests.first { $0.answered == 200 })
        let body = try #require(try JSONSerialization.jsonObject(with: Data(delivered.body.utf8)) as? [String: Any])
        #expect(body["kind"] as? String == "job_ended")
        let event = try #require(body["event"] as? [String: Any])
        #expect(body["event_id"] as? Int == event["id"] as? Int && event["stream"] as? String == "jobs")
        #expect(receiver.requests.allSatisfy { $0.body == delivered.body }, "every attempt sends the same stored body")
        // The signature, checked by another implementation of HMAC-SHA256.
        let timestamp = try #require(delivered.headers["x-lph-timestamp"])
        let expected = try await offThePool { try hmacSHA256(key: "s3cret", message: timestamp + "." + delivered.body) }
        #expect(delivered.headers["x-lph-signature"] == "sha256=" + expected)

        let database = try DatabaseQueue(path: scratch.file("lph.sqlite"), configuration: { var c = Configuration(); c.readonly = true; return c }())
        try await eventually("the delivery recorded as delivered") {
            try database.read { try String.fetchOne($0, sql: "SELECT status FROM webhook_deliveries") } == "delivered"
        }
        #expect(try await database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM webhook_deliveries") } == 1)
        receiver.stop()
    }
}

/// HMAC-SHA256 in hex, by Python's standard library.
private func hmacSHA256(key: String, message: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", "import hmac, hashlib, sys; print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())", key]
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    input.fileHandleForWriting.write(Data(message.utf8))
    try input.fileHandleForWriting.close()
    let digest = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return digest.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// A plain HTTP/1.1 server on 127.0.0.1 that answers every request with one
/// status (changed at will) and keeps what it was sent.
final class WebhookReceiver: Sendable {
    struct Request: Sendable {
        var headers: [String: String]
        var body: String
        var answered: Int
    }

    let port: Int
    private let listener: Int32
    private let state = Mutex<(status: Int, requests: [Request], stopped: Bool)>((200, [], false))

    init() throws {
        let (fd, port) = try boundLoopbackSocket()
        guard listen(fd, 16) == 0 else { throw CocoaError(.fileWriteUnknown) }
        listener = fd
        self.port = port
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    var requests: [Request] { state.withLock { $0.requests } }

    func answer(_ status: Int) { state.withLock { $0.status = status } }

    func stop() { state.withLock { $0.stopped = true } }

    private func serve() {
        while !state.withLock({ $0.stopped }) {
            var ready = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 100) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            handle(client)
            close(client)
        }
        close(listener)
    }

    private func handle(_ client: Int32) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Int?
        var contentLength = 0
        while headerEnd == nil || received.count < headerEnd! + contentLength {
            let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return }
            received += buffer[..<n]
            if headerEnd == nil, let end = received.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound {
                headerEnd = end
                contentLength = Self.headers(received[..<end])["content-length"].flatMap { Int($0) } ?? 0
            }
        }
        let status = state.withLock { $0.status }
        let request = Request(headers: Self.headers(received[..<headerEnd!]),
                              body: String(decoding: received[headerEnd!...], as: UTF8.self), answered: status)
        state.withLock { $0.requests.append(request) }
        let reply = Array("HTTP/1.1 \(status) \(status == 200 ? "OK" : "Error")\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
        _ = reply.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    private static func headers(_ head: ArraySlice<UInt8>) -> [String: String] {
        var fields: [String: String] = [:]
        for line in String(decoding: head, as: UTF8.self).split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }
}
