import Foundation
import Hummingbird
import Logging

/// The daemon's HTTP side: JSON routes and event streams, on Hummingbird.
/// Every route but `/healthz` (and `/metrics`, which carries no user data)
/// needs a token; a `user` sees only their own jobs, logs, artifacts and
/// events, and another user's look like missing ones (404).
enum HTTPServer {
    struct Dependencies: Sendable {
        var store: any Store
        var executor: Executor
        var intake: Intake
        var index: ArtifactIndex
        var broadcaster: Broadcaster
        var changes: ChangeTracker

        /// What keeps the daemon from doing all of its work right now.
        var problems: [String] { [store.writeProblem, index.problem, intake.problem].compactMap { $0 } }
    }

    /// Request bodies larger than this are refused with 413.
    static let maxBody = Limits.maxSpecification + 64 * 1024

    static func router(_ deps: Dependencies, allowedHosts: Set<String> = [], streamsPerUser: Int = 64) -> Router<APIContext> {
        let router = Router(context: APIContext.self)
        router.add(middleware: HostCheck(allowedNames: Set(allowedHosts.map { $0.lowercased() })))
        // Alive either way (200); "degraded" names what is failing: a full disk, folders inotify cannot watch.
        router.get("/healthz") { _, _ in
            JSONBody(value: await Health.now(deps))
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(bytes: try await MetricsEndpoint.render(deps.store))))
        }
        StaticRoutes.add(to: router, store: deps.store)
        let api = router.group().add(middleware: StoreUnavailable()).add(middleware: BearerAuth(store: deps.store))
        JobRoutes.add(to: api, deps)
        let sessions = StreamSessions(perUser: streamsPerUser)
        ResourceRoutes.add(to: api, deps, sessions: sessions)
        StreamRoutes.add(to: api, deps, sessions: sessions)
        router.add(middleware: MethodNotAllowed(router.routes))
        return router
    }

    // MARK: - Helpers shared by the routes

    static func intParameter(_ request: Request, _ name: String) throws -> Int64? {
        guard let raw = request.uri.queryParameters.get(name) else { return nil }
        guard let value = Int64(raw), value >= 0 else { throw APIError(.badRequest, "\(name) must be a whole number ≥ 0") }
        return value
    }

    static func pathID(_ context: APIContext, _ name: String = "id") throws -> Int64 {
        guard let id = context.parameters.get(name, as: Int64.self) else { throw APIError(.badRequest, "\(name) must be a number") }
        return id
    }

    /// Decodes a JSON body, refusing oversized (413) and malformed (400) ones,
    /// and, as job files do, any key it does not know (naming it). An empty
    /// body is `orEmpty` when given (a body of options only).
    static func decode<T: RequestBody>(_ type: T.Type, from request: Request, orEmpty empty: T? = nil) async throws -> T {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxBody)
        } catch {
            throw APIError(.contentTooLarge, "request body over \(maxBody) bytes")
        }
        if body.readableBytes == 0, let empty { return empty }
        let data = Data(buffer: body)
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let unknown = object.keys.sorted().first(where: { !T.keys.contains($0) }) {
            throw APIError(.badRequest, "unknown key \"\(unknown)\"")
        }
        do {
            return try JSONCoding.decoder.decode(T.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw APIError(.badRequest, "missing key \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, context) {
            throw APIError(.badRequest, "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))")
        } catch {
            throw APIError(.badRequest, "malformed JSON body")
        }
    }

    /// The job named in the path, if the caller may see it.
    static func visibleJob(_ context: APIContext, _ store: any Store) async throws -> Job {
        let user = try context.requireUser()
        let id = try pathID(context)
        guard let job = try await store.job(id), user.role == .admin || job.user == user.email else {
            throw APIError(.notFound, "no job \(id)")
        }
        return job
    }

    /// Refuses (409) what needs the job's project folder when it is on another node.
    static func requireProjectHere(_ job: Job, _ store: any Store, doing what: String) async throws {
        guard let cluster = try await store.cluster(), !cluster.hasFolder(of: job), let node = job.node else { return }
        throw APIError(.conflict, "job \(job.id)'s project folder is on node \(node): ask that node for \(what)")
    }

    static func requireAdmin(_ context: APIContext) throws -> User {
        let user = try context.requireUser()
        guard user.role == .admin else { throw APIError(.forbidden, "admins only") }
        return user
    }
}
