import Foundation
import Testing
@testable import LinesPerHour

/// Event streams are descriptors held for as long as a client likes: one
/// user may not take them all, and a token that is replaced or deleted stops
/// watching at once.
@Suite struct StreamSessionTests {
    let api = APITests()

    func user(_ d: TestDaemon, _ email: String) async throws -> (id: Int, token: String) {
        let created = try await api.call(d, "POST", "/users", token: d.daemon.newAdminToken, body: ["email": email, "line_credits": 10])
        return (try #require((created.object["user"] as? [String: Any])?["id"] as? Int), try #require(created.object["token"] as? String))
    }

    @Test func aReplacedOrDeletedTokenEndsItsOpenStreamsAtOnce() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"])
        let admin = d.daemon.newAdminToken!
        let carol = try await user(d, "carol@example.com")
        let streams = try ["/streams", "/streams/jobs"].map { try SSEClient(port: d.port, path: $0, token: carol.token) }
        try await eventually("the streams to open") { streams.allSatisfy { $0.status == 200 } }
        let replaced = try await api.call(d, "POST", "/users/\(carol.id)/token", token: admin)
        #expect(replaced.status == 200)
        let newToken = try #require(replaced.object["token"] as? String)
        try await eventually("the old token's streams to end") { streams.allSatisfy(\.ended) }
        #expect(streams.allSatisfy { $0.completed }, "each response ended with its last chunk, not a cut connection")
        #expect(try await api.call(d, "GET", "/users/me", token: carol.token).status == 401)
        #expect(try await api.call(d, "GET", "/users/me", token: newToken).status == 200)

        let again = try SSEClient(port: d.port, path: "/streams", token: newToken)
        try await eventually("a stream with the new token") { again.status == 200 }
        try d.drop("Carols.json", #"{"project": "Carols", "specification": "x", "user": "carol@example.com"}"#)
        _ = try await d.finished(try await d.jobID(forSpoolFile: "Carols.json"))
        #expect(try await api.call(d, "DELETE", "/users/\(carol.id)", token: admin).status == 204)
        try await eventually("the deleted user's stream to end") { again.ended }
        #expect(again.completed)
        #expect(try await api.call(d, "GET", "/users/me", token: newToken).status == 401)
        #expect(try await api.call(d, "GET", "/users", token: admin).array.allSatisfy { $0["email"] as? String != "carol@example.com" })
        #expect(try await d.job(1)?.user == "carol@example.com", "the jobs keep who ran them")
        #expect(try await api.call(d, "DELETE", "/users/\(carol.id)", token: admin).status == 404)
        #expect(try await api.call(d, "DELETE", "/users/1", token: admin).status == 409, "not oneself")
        try d.drop("Late.json", #"{"project": "Carols", "specification": "x", "user": "carol@example.com"}"#)
        #expect(try await d.waitForRejection("Late.json").contains("unknown user"))
        try await d.stop()
    }

    /// A client that closes its sending side while its stream is writing, and
    /// never reads, gives up its stream and its place at once.
    @Test func aClientThatHalfClosesWithoutReadingGivesUpItsStream() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "seq 1 1000000"]) { $0.streamsPerUser = 1 }
        let token = try #require(d.daemon.newAdminToken)
        try d.drop("Loud.md", "x")
        let id = try await d.jobID(forSpoolFile: "Loud.md")
        let fd = try loopbackConnection(port: d.port)
        defer { close(fd) }
        let request = "GET /jobs/\(id)/logs/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        try await eventually("the client's receive buffer filling") {
            var unread: Int32 = 0
            return ioctl(fd, UInt(FIONREAD), &unread) == 0 && unread > 32 << 10
        }
        shutdown(fd, Int32(SHUT_WR))
        try await eventually("its place freed for another stream") {
            let next = try SSEClient(port: d.port, path: "/streams", token: token)
            defer { next.close() }
            return next.awaitStatus() == 200
        }
        try await d.stop()
    }

    @Test func oneUserCannotHoldEveryStream() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"]) { $0.streamsPerUser = 3 }
        let dave = try await user(d, "dave@example.com")
        let held = try (0..<3).map { _ in try SSEClient(port: d.port, path: "/streams", token: dave.token) }
        try await eventually("three streams") { held.allSatisfy { $0.status == 200 } }
        let fourth = try SSEClient(port: d.port, path: "/streams", token: dave.token)
        try await eventually("the fourth's answer") { fourth.status != 0 }
        #expect(fourth.status == 429)
        // Others, and the daemon's own routes, are served all the while.
        let admins = try SSEClient(port: d.port, path: "/streams", token: d.daemon.newAdminToken)
        try await eventually("another user's stream") { admins.status == 200 }
        #expect(try await api.call(d, "GET", "/healthz", token: nil).status == 200)
        held[0].close()
        try await eventually("a place freed when a client leaves") {
            let next = try SSEClient(port: d.port, path: "/streams", token: dave.token)
            defer { next.close() }
            return next.awaitStatus() == 200
        }
        try await d.stop()
    }
}
