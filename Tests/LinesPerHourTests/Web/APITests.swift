import Foundation
import Testing
@testable import LinesPerHour
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The JSON API over real HTTP: routes, errors, tokens and who may see what.
@Suite struct APITests {
    struct Answer {
        var status: Int
        var json: Any?
        var headers: [AnyHashable: Any]
        var object: [String: Any] { json as? [String: Any] ?? [:] }
        /// The answer's list; an answer that is not one (an error's object) is an issue, not an empty list.
        var array: [[String: Any]] {
            guard let list = json as? [[String: Any]] else {
                Issue.record("expected a JSON list, got \(status): \(json.map { "\($0)" } ?? "no JSON")")
                return []
            }
            return list
        }
    }

    func call(_ d: TestDaemon, _ method: String, _ path: String, token: String?, body: Any? = nil, raw: Data? = nil,
              headers: [String: String] = [:]) async throws -> Answer {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(d.port)\(path)")!)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body { request.httpBody = try JSONSerialization.data(withJSONObject: body) }
        if let raw { request.httpBody = raw }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        return Answer(status: http.statusCode, json: try? JSONSerialization.jsonObject(with: data), headers: http.allHeaderFields)
    }

    /// A user made by the admin; returns their token.
    func newUser(_ d: TestDaemon, _ email: String, credits: Int) async throws -> String {
        try #require(try await call(d, "POST", "/users", token: d.daemon.newAdminToken, body: ["email": email, "line_credits": credits])
            .object["token"] as? String)
    }

    @Test func jobsUsersAndIsolation() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "echo hi; echo 'a' > a.txt"])
        let admin = d.daemon.newAdminToken!
        // Users, made by the admin.
        let alice = try await call(d, "POST", "/users", token: admin, body: ["email": "alice@example.com", "line_credits": 1000])
        #expect(alice.status == 201)
        let aliceToken = alice.object["token"] as! String
        let bobToken = try await newUser(d, "bob@example.com", credits: 1000)
        #expect(try await call(d, "POST", "/users", token: admin, body: ["email": "alice@example.com"]).status == 409)
        #expect(try await call(d, "POST", "/users", token: aliceToken, body: ["email": "eve@example.com"]).status == 403)
        #expect(try await call(d, "GET", "/users", token: aliceToken).status == 403)
        #expect(try await call(d, "GET", "/users/me", token: aliceToken).object["email"] as? String == "alice@example.com")

        // Alice's job, through the API: the same intake as a file.
        let created = try await call(d, "POST", "/projects/AliceApp/jobs", token: aliceToken, body: ["specification": "Build it"])
        #expect(created.status == 201)
        let job = created.object["id"] as! Int
        #expect(created.object["user"] as? String == "alice@example.com")
        _ = try await d.finished(Int64(job))
        #expect(FileManager.default.fileExists(atPath: d.spool.accepted + "/\(job)-api.json"))
        #expect(try await call(d, "POST", "/projects/Bad..Name/jobs", token: aliceToken, body: ["specification": "x"]).status == 422)
        #expect(try await call(d, "POST", "/projects/AliceApp/jobs", token: aliceToken, body: ["specification": " "]).status == 422)
        // Another user's project looks missing: nothing says it exists, nor whose it is.
        let others = try await call(d, "POST", "/projects/AliceApp/jobs", token: bobToken, body: ["specification": "x"])
        #expect(others.status == 404)
        #expect((others.object["error"] as? String)?.contains("another user") == false)
        #expect(try await call(d, "POST", "/projects/X/jobs", token: aliceToken, raw: Data("{".utf8)).status == 400)
        #expect(try await call(d, "POST", "/projects/X/jobs", token: aliceToken, raw: Data(count: 2 << 20)).status == 413)

        // Alice sees hers; Bob sees nothing of it; the admin sees all.
        #expect(try await call(d, "GET", "/jobs/\(job)", token: aliceToken).status == 200)
        for path in ["/jobs/\(job)", "/jobs/\(job)/logs", "/jobs/\(job)/logs/stream"] {
            #expect(try await call(d, "GET", path, token: bobToken).status == 404, "\(path)")
        }
        #expect(try await call(d, "POST", "/jobs/\(job)/cancel", token: bobToken).status == 404)
        #expect(try await call(d, "GET", "/jobs", token: bobToken).array.isEmpty)
        #expect(try await call(d, "GET", "/jobs", token: admin).array.count == 1)
        let artifacts = try await call(d, "GET", "/artifacts?project=AliceApp", token: aliceToken).array
        #expect(artifacts.map { $0["file_path"] as? String } == ["a.txt"])
        let artifactID = artifacts[0]["id"] as! Int
        #expect(try await call(d, "GET", "/artifacts/\(artifactID)", token: aliceToken).object["preview_content"] as? String == "a\n")
        #expect(try await call(d, "GET", "/artifacts/\(artifactID)", token: bobToken).status == 404)
        #expect(try await call(d, "GET", "/artifacts", token: bobToken).array.isEmpty)
        #expect(try await call(d, "GET", "/projects", token: bobToken).array.isEmpty)
        #expect(try await call(d, "GET", "/projects", token: aliceToken).array.first?["name"] as? String == "AliceApp")
        #expect(try await call(d, "GET", "/artifacts?type=nonsense", token: admin).status == 400)

        // Credits.
        let bobID = try await d.store.user(email: "bob@example.com")!.id
        #expect(try await call(d, "POST", "/users/\(bobID)/credits", token: admin, body: ["line_credits": 7]).object["line_credits"] as? Int == 7)
        #expect(try await call(d, "POST", "/users/\(bobID)/credits", token: admin, body: ["line_credits": -1]).status == 422)
        #expect(try await call(d, "POST", "/users/999/credits", token: admin, body: ["line_credits": 1]).status == 404)
        #expect(try await call(d, "POST", "/users/\(bobID)/credits", token: admin, body: ["line_credits": Int64.max]).status == 422)
        #expect(try await call(d, "POST", "/users/\(bobID)/credits", token: admin, body: ["line_credits": 1, "bonus": 2]).status == 400)
        try await d.stop()
    }

    @Test func aUsersStreamShowsOnlyTheirOwnEvents() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "echo hi"])
        let alice = try await newUser(d, "alice@example.com", credits: 100)
        let bob = try await newUser(d, "bob@example.com", credits: 100)
        let bobStream = try SSEClient(port: d.port, path: "/streams?types=jobs,logs", token: bob)
        defer { bobStream.close() }
        let aliceJob = try await call(d, "POST", "/projects/A/jobs", token: alice, body: ["specification": "x"]).object["id"] as! Int
        let bobJob = try await call(d, "POST", "/projects/B/jobs", token: bob, body: ["specification": "x"]).object["id"] as! Int
        try await eventually("Bob's job to complete on Bob's stream") { bobStream.frames.contains { $0.data.contains("job \(bobJob) completed") } }
        _ = try await d.finished(Int64(aliceJob))
        let jobIDs = bobStream.frames.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.data.utf8)) as? [String: Any])?["job_id"] as? Int }
        #expect(!jobIDs.isEmpty)
        #expect(jobIDs.allSatisfy { $0 == bobJob })
        try await d.stop()
    }

    @Test func tokensCookiesAndErrors() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"])
        let admin = d.daemon.newAdminToken!
        let missing = try await call(d, "GET", "/jobs", token: nil)
        #expect(missing.status == 401)
        #expect(missing.object["error"] is String)
        #expect(try await call(d, "GET", "/streams/jobs", token: "lph_forged").status == 401)
        #expect(try await call(d, "GET", "/streams/nonsense", token: admin).status == 404)
        #expect(try await call(d, "GET", "/streams?types=jobs,nonsense", token: admin).status == 400)
        #expect(try await call(d, "GET", "/jobs?status=weird", token: admin).status == 400)
        let viaQuery = try await call(d, "GET", "/users/me?token=\(admin)", token: nil)
        #expect(viaQuery.status == 200)
        let cookie = viaQuery.headers["Set-Cookie"] as? String ?? ""
        #expect(cookie.contains("lph_token=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
        #expect(try await d.metrics().contains("lph_"))
        try await d.stop()
    }

    @Test func aKnownPathAskedWithAnotherMethodIs405WithAllow() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"])
        let token = d.daemon.newAdminToken
        for (method, path, allow) in [("DELETE", "/jobs/1", "GET"), ("PUT", "/projects/p/jobs", "POST"),
                                      ("GET", "/jobs/7/cancel", "POST"), ("PATCH", "/users", "GET, POST")] {
            let answer = try await call(d, method, path, token: token)
            #expect(answer.status == 405, "\(method) \(path)")
            #expect(answer.headers["Allow"] as? String == allow, "\(method) \(path)")
        }
        #expect(try await call(d, "GET", "/no/such/route", token: token).status == 404)
        #expect(try await call(d, "DELETE", "/no/such/route", token: token).status == 404)
        try await d.stop()
    }

    @Test func junkOnTheSocketLeavesTheDaemonServing() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"])
        for junk in ["\u{0}\u{1}\u{2}garbage\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "POST /jobs HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                     String(repeating: "A", count: 100_000) + "\r\n\r\n", "GET /healthz HTTP/1.1\r\nHost: x\r\n"] {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(d.port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            _ = junk.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            close(fd)
        }
        #expect(try await call(d, "GET", "/healthz", token: nil).status == 200)
        try await d.stop()
    }

    /// Every route × {no token, a forged token, another user's, the owner's, the admin's}.
    @Test func theAccessTable() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "echo hi > a.txt"])
        let admin = d.daemon.newAdminToken!
        let owner = try await newUser(d, "own@example.com", credits: 100)
        let other = try await newUser(d, "other@example.com", credits: 100)
        let job = try await call(d, "POST", "/projects/Own/jobs", token: owner, body: ["specification": "x"]).object["id"] as! Int
        _ = try await d.finished(Int64(job))
        let artifact = try #require(try await d.store.artifacts(type: nil, project: "Own", job: nil, userID: nil).first).id
        let ownerID = try await d.store.user(email: "own@example.com")!.id
        // (method, path, [none, forged, other, owner, admin])
        let table: [(String, String, [Int])] = [
            ("GET", "/healthz", [200, 200, 200, 200, 200]),
            ("GET", "/metrics", [200, 200, 200, 200, 200]),
            ("GET", "/openapi.json", [200, 200, 200, 200, 200]),
            ("GET", "/", [200, 200, 200, 200, 200]),
            ("GET", "/jobs", [401, 401, 200, 200, 200]),
            ("GET", "/jobs/\(job)", [401, 401, 404, 200, 200]),
            ("GET", "/jobs/\(job)/logs", [401, 401, 404, 200, 200]),
            ("GET", "/jobs/\(job)/logs/stream", [401, 401, 404, 200, 200]),
            ("POST", "/jobs/\(job)/cancel", [401, 401, 404, 409, 409]),
            ("POST", "/jobs/\(job)/retry", [401, 401, 404, 201, 201]),
            ("GET", "/projects", [401, 401, 200, 200, 200]),
            ("GET", "/artifacts", [401, 401, 200, 200, 200]),
            ("GET", "/artifacts/\(artifact)", [401, 401, 404, 200, 200]),
            ("GET", "/users/me", [401, 401, 200, 200, 200]),
            ("GET", "/users", [401, 401, 403, 403, 200]),
            ("GET", "/webhooks/deliveries", [401, 401, 403, 403, 200]),
            ("POST", "/users/\(ownerID)/credits", [401, 401, 403, 403, 200]),
            ("POST", "/users/\(ownerID)/budget", [401, 401, 403, 403, 200]),
            ("POST", "/projects/Own/jobs", [401, 401, 404, 201, 201]),
            ("POST", "/users", [401, 401, 403, 403, 201]),
            ("GET", "/projects/Own/knowledge", [401, 401, 404, 200, 200]),
            ("GET", "/insights", [401, 401, 200, 200, 200]),
            ("GET", "/streams", [401, 401, 200, 200, 200]),
            ("GET", "/streams/logs", [401, 401, 200, 200, 200]),
        ]
        for (method, path, expected) in table {
            for (token, status) in zip([nil, "lph_forged", other, owner, admin], expected) {
                let body: [String: Any]? = switch (method, path) {
                case ("GET", _): nil
                case (_, "/users"): ["email": "new@example.com"]
                case (_, let p) where p.hasSuffix("/credits"): ["line_credits": 100]
                case (_, let p) where p.hasSuffix("/retry"): [:]
                case (_, let p) where p.hasSuffix("/budget"): ["budget_usd": 10]
                default: ["specification": "x"]
                }
                let answer: Int
                if path.contains("/stream") {
                    let client = try SSEClient(port: d.port, path: path, token: token)
                    try await eventually("a status line") { client.status != 0 }
                    answer = client.status
                    client.close()
                } else {
                    answer = try await call(d, method, path, token: token, body: body).status
                }
                #expect(answer == status, "\(method) \(path) with \(token == nil ? "no token" : token!.prefix(8)) answered \(answer)")
            }
        }
        try await d.stop()
    }

    /// A client whose POST timed out sends it again: with the same
    /// Idempotency-Key it gets the first job back, never a second one.
    @Test func theSameIdempotencyKeyMakesOneJob() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"])
        let admin = d.daemon.newAdminToken!
        func post(_ key: String?, _ specification: String, project: String = "Once") async throws -> Answer {
            try await call(d, "POST", "/projects/\(project)/jobs", token: admin, body: ["specification": specification],
                           headers: key.map { ["Idempotency-Key": $0] } ?? [:])
        }
        let first = try await post("retry-1", "build it")
        #expect(first.status == 201)
        let again = try await post("retry-1", "build it")
        #expect(again.status == 201 && again.object["id"] as? Int == first.object["id"] as? Int)
        #expect(try await post("retry-1", "something else").status == 422, "a key is one request")
        #expect(try await post("retry-1", "build it", project: "Elsewhere").status == 422)
        #expect(try await post("retry-2", "build it").object["id"] as? Int != first.object["id"] as? Int)
        #expect(try await post(String(repeating: "k", count: 256), "build it").status == 400)
        #expect(try await post(nil, "build it").status == 201, "no key: a new job each time")
        #expect(try await d.store.jobs(project: "Once").count == 3)
        // One size limit for a specification, whichever way it comes.
        #expect(try await post(nil, String(repeating: "x", count: Limits.maxSpecification + 1)).status == 413)
        try await d.stop()
    }

    /// Seen: `GET /jobs` answered every full specification (33 MB for 32 jobs
    /// of 1 MiB). Lists carry a job's state, paged; the specification is read per job.
    @Test func listsArePagedSummariesAndTheSpecificationIsReadPerJob() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"])
        let admin = d.daemon.newAdminToken!
        let big = String(repeating: "s", count: Limits.maxSpecification - 10)
        for _ in 0..<3 { #expect(try await call(d, "POST", "/projects/Big/jobs", token: admin, body: ["specification": big]).status == 201) }
        let all = try await call(d, "GET", "/jobs", token: admin)
        #expect(all.array.count == 3 && all.array.allSatisfy { $0["specification"] == nil && $0["status"] != nil })
        let first = try await call(d, "GET", "/jobs?limit=2&project=Big", token: admin)
        #expect(first.array.map { $0["id"] as? Int } == [3, 2])
        let link = try #require(first.headers["Link"] as? String)
        #expect(link.contains("before=2") && link.contains("project=Big") && link.hasSuffix("rel=\"next\""))
        let rest = try await call(d, "GET", "/jobs?limit=2&project=Big&before=2", token: admin)
        #expect(rest.array.map { $0["id"] as? Int } == [1])
        #expect(rest.headers["Link"] == nil)
        #expect(try await call(d, "GET", "/jobs/1", token: admin).object["specification"] as? String == big)
        #expect(try await call(d, "GET", "/jobs?limit=0", token: admin).status == 400)
        try await d.stop()
    }
}
