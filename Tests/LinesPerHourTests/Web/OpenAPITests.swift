import Foundation
import Logging
import Testing
@testable import LinesPerHour
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `/openapi.json` describes exactly the routes the router has, and the
/// daemon answers each documented operation with a documented status.
@Suite struct OpenAPITests {
    func document(_ d: TestDaemon) async throws -> [String: Any] {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(d.port)/openapi.json")!)
        #expect((response as! HTTPURLResponse).statusCode == 200)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func everyRouteIsDocumentedAndNothingElse() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"])
        let paths = try #require(try await document(d)["paths"] as? [String: [String: Any]])
        let documented = Set(paths.flatMap { path, operations in operations.keys.map { "\($0.uppercased()) \(path)" } })
        let intake = Intake(spool: d.spool, store: d.store, defaultUser: nil, logger: Logger(label: "t")) {}
        let router = HTTPServer.router(.init(store: d.store, executor: d.daemon.executor, intake: intake, index: d.daemon.index, broadcaster: d.daemon.broadcaster, changes: d.daemon.changes))
        // A route's path reads as OpenAPI writes it: `/jobs/{id}`.
        let routed = Set(router.routes.map { "\($0.method.rawValue) \($0.path)" })
        #expect(routed == documented)
        try await d.stop()
    }

    @Test func everyDocumentedAnswerIsOneTheDocumentAllows() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "echo hi > a.txt"])
        try d.drop("Doc.md", "x")
        let job = try await d.finished(try await d.jobID(forSpoolFile: "Doc.md"))
        let artifact = try #require(try await d.store.artifacts(type: nil, project: nil, job: nil, userID: nil).first)
        let paths = try #require(try await document(d)["paths"] as? [String: [String: [String: Any]]])
        var checked = 0
        for (path, operations) in paths {
            for (method, operation) in operations where method == "get" && !path.hasSuffix("stream") && !path.hasPrefix("/streams") {
                let concrete = path.replacingOccurrences(of: "{id}", with: path.hasPrefix("/artifacts") ? "\(artifact.id)" : "\(job.id)")
                    .replacingOccurrences(of: "{project}", with: "Doc").replacingOccurrences(of: "{name}", with: "app.js")
                var request = URLRequest(url: URL(string: "http://127.0.0.1:\(d.port)\(concrete)")!)
                request.setValue("Bearer \(d.daemon.newAdminToken!)", forHTTPHeaderField: "Authorization")
                let (_, response) = try await URLSession.shared.data(for: request)
                let status = (response as! HTTPURLResponse).statusCode
                let allowed = (operation["responses"] as? [String: Any])?.keys.compactMap { Int($0) } ?? []
                // Every placeholder names something that exists: each GET succeeds, with a status it documents.
                #expect((200..<300).contains(status) && allowed.contains(status), "GET \(concrete) answered \(status)")
                checked += 1
            }
        }
        #expect(checked >= 10)
        try await d.stop()
    }
}
