import Foundation
import Testing
@testable import LinesPerHour

/// A page on another port of the same machine gets the dashboard's cookie
/// sent with its requests (cookies do not separate ports), and a name the
/// attacker controls can be pointed at 127.0.0.1 (DNS rebinding). Neither may
/// change anything. The real browser's side of this is `Tests/Browser/csrf_test.py`.
@Suite struct CrossSiteTests {
    @Test func aChangeSignedInByTheCookieMustComeFromTheDashboardItself() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"])
        let token = try #require(d.daemon.newAdminToken)
        let body = #"{"specification": "forged"}"#
        func post(_ headers: String, contentType: String = "application/json", auth: String? = nil) async throws -> Int {
            let credential = auth.map { "Authorization: Bearer \($0)\r\n" } ?? "Cookie: lph_token=\(token)\r\n"
            return try await RawHTTP.send(port: d.port, """
                POST /projects/Forged/jobs HTTP/1.1\r\nHost: 127.0.0.1:\(d.port)\r\n\(credential)Content-Type: \(contentType)\r\n\
                Content-Length: \(body.utf8.count)\r\n\(headers)Connection: close\r\n\r\n\(body)
                """).status
        }
        #expect(try await post("Sec-Fetch-Site: same-site\r\nOrigin: http://127.0.0.1:1\r\n") == 403, "a page on another port")
        #expect(try await post("Sec-Fetch-Site: cross-site\r\n") == 403)
        #expect(try await post("Origin: http://127.0.0.1:1\r\n") == 403, "a browser that sends Origin only")
        #expect(try await post("Origin: null\r\n") == 403, "a sandboxed or file: page")
        #expect(try await post("") == 403, "no sign of where it comes from")
        #expect(try await post("Sec-Fetch-Site: same-origin\r\n", contentType: "text/plain") == 415, "a form's body")
        #expect(try await d.store.jobs(limit: 10).isEmpty)

        #expect(try await post("Sec-Fetch-Site: same-origin\r\n") == 201, "the dashboard")
        #expect(try await post("Origin: http://127.0.0.1:\(d.port)\r\n") == 201, "the dashboard in a browser that sends Origin only")
        #expect(try await post("", contentType: "text/plain", auth: token) == 201, "a bearer token is never sent by a browser on its own")
        #expect(try await d.store.jobs(limit: 10).count == 3)
        try await d.stop()
    }

    @Test func onlyHostsTheDaemonServesAreAnswered() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"]) { $0.allowedHosts = ["lph.example"] }
        func health(_ host: String) async throws -> Int {
            try await RawHTTP.send(port: d.port, "GET /healthz HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n").status
        }
        #expect(try await health("evil.example:\(d.port)") == 421)
        #expect(try await health("127.0.0.1.evil.example") == 421)
        #expect(try await health("127.0.0.1:\(d.port)") == 200)
        #expect(try await health("localhost:\(d.port)") == 200)
        #expect(try await health("[::1]:\(d.port)") == 200)
        #expect(try await health("LPH.example:\(d.port)") == 200)
        try await d.stop()
    }

    @Test func anotherSitesSignInLinkDoesNotReplaceTheSession() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"])
        let admin = try #require(d.daemon.newAdminToken)
        let created = try await RawHTTP.send(port: d.port, """
            POST /users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(admin)\r\nContent-Type: application/json\r\n\
            Content-Length: 67\r\nConnection: close\r\n\r\n{"email": "mallory@example.com", "role": "user", "line_credits": 5}
            """)
        let mallory = try #require(created.json["token"] as? String)
        for path in ["/?token=\(mallory)", "/users/me?token=\(mallory)"] {
            let linked = try await RawHTTP.send(port: d.port, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nSec-Fetch-Site: cross-site\r\nConnection: close\r\n\r\n")
            #expect(linked.header("Set-Cookie") == nil, "\(path) from another site")
            let opened = try await RawHTTP.send(port: d.port, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nSec-Fetch-Site: none\r\nConnection: close\r\n\r\n")
            #expect(opened.header("Set-Cookie")?.hasPrefix("lph_token=\(mallory)") == true, "\(path) opened directly")
        }
        try await d.stop()
    }
}
