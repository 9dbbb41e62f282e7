import Foundation
import Testing
@testable import LinesPerHour
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite struct HTTPTests {
    func get(_ d: TestDaemon, _ path: String, token: String? = nil, method: String = "GET") async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(d.port)\(path)")!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return ((response as! HTTPURLResponse).statusCode, object)
    }

    @Test func healthAdminTokenAndJobs() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "echo hello"])
        #expect(try await get(d, "/healthz").0 == 200)
        let tokenPath = d.scratch.file(".lph/admin.token")
        var st = stat()
        #expect(stat(tokenPath, &st) == 0 && st.st_mode & 0o777 == 0o600)
        let token = try String(contentsOfFile: tokenPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token == d.daemon.newAdminToken)
        let stored = try await d.database.read { try String.fetchOne($0, sql: "SELECT token_hash FROM users") }
        #expect(stored == Tokens.hash(token))

        let (status, body) = try await get(d, "/jobs/1")
        #expect(status == 401)
        #expect(body["error"] is String)
        #expect(try await get(d, "/jobs/1", token: "lph_wrong").0 == 401)
        #expect(try await get(d, "/jobs/1", token: token).0 == 404)
        #expect(try await get(d, "/jobs/abc", token: token).0 == 400)

        try d.drop("Web.md", "x")
        let id = try await d.jobID(forSpoolFile: "Web.md")
        _ = try await d.finished(id)
        let (ok, job) = try await get(d, "/jobs/\(id)", token: token)
        #expect(ok == 200)
        #expect(job["status"] as? String == "completed")
        #expect(job["project"] as? String == "Web")
        #expect(job["current_phase"] as? String == "idle")
        #expect(try await get(d, "/jobs/\(id)/cancel", token: token, method: "POST").0 == 409)
        try await d.stop()
    }

    @Test func asecondStartKeepsTheAdminAndItsToken() async throws {
        let scratch = try Scratch()
        let first = try await TestDaemon(scratch: scratch, agent: ["/bin/true"])
        let token = first.daemon.newAdminToken
        try await first.stop()
        let second = try await TestDaemon(scratch: scratch, agent: ["/bin/true"])
        #expect(token != nil)
        #expect(second.daemon.newAdminToken == nil)
        #expect(try await get(second, "/jobs", token: token).0 == 200)
        try await second.stop()
    }

    @Test func anAdminTokenFileOthersCanReadIsRefused() async throws {
        let scratch = try Scratch()
        try await TestDaemon(scratch: scratch, agent: ["/bin/true"]).stop()
        chmod(scratch.file(".lph/admin.token"), 0o644)
        await #expect(throws: DaemonError.self) { try await TestDaemon(scratch: scratch, agent: ["/bin/true"]) }
        chmod(scratch.file(".lph/admin.token"), 0o600)
        try await TestDaemon(scratch: scratch, agent: ["/bin/true"]).stop()
    }
}
