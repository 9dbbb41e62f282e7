import Foundation
import Hummingbird
import Logging

/// The daemon's HTTP side: the routes, built on Hummingbird.
enum HTTPServer {
    struct Dependencies: Sendable {
        var store: Store
        var executor: Executor
    }

    static func router(_ deps: Dependencies) -> Router<APIContext> {
        let router = Router(context: APIContext.self)
        router.get("/healthz") { _, _ in
            JSONBody(value: ["status": "ok"])
        }
        let api = router.group().add(middleware: BearerAuth(store: deps.store))
        api.get("/jobs") { request, context in
            let user = try context.requireUser()
            let status = try request.uri.queryParameters.get("status").map { value in
                guard let s = JobStatus(rawValue: String(value)) else { throw APIError(.badRequest, "unknown status \"\(value)\"") }
                return s
            }
            let project = request.uri.queryParameters.get("project").map { String($0) }
            return JSONBody(value: try deps.store.jobs(status: status, project: project, userID: user.role == .admin ? nil : user.id))
        }
        api.get("/jobs/:id") { request, context in
            JSONBody(value: try visibleJob(request, context, deps.store))
        }
        api.get("/jobs/:id/logs") { request, context in
            let job = try visibleJob(request, context, deps.store)
            let after = try intParameter(request, "after") ?? 0
            let limit = min(max(try intParameter(request, "limit") ?? 1000, 1), 10_000)
            return JSONBody(value: try deps.store.logs(job: job.id, after: after, limit: Int(limit)))
        }
        api.post("/jobs/:id/cancel") { request, context in
            let job = try visibleJob(request, context, deps.store)
            switch try await deps.executor.cancel(job.id) {
            case .notFound: throw APIError(.notFound, "no job \(job.id)")
            case .alreadyEnded(let status): throw APIError(.conflict, "job \(job.id) has already ended (\(status.rawValue))")
            case .stopping, .cancelled: return JSONBody(value: try deps.store.job(job.id)!, status: .accepted)
            }
        }
        return router
    }

    private static func intParameter(_ request: Request, _ name: String) throws -> Int64? {
        guard let raw = request.uri.queryParameters.get(name) else { return nil }
        guard let value = Int64(raw), value >= 0 else { throw APIError(.badRequest, "\(name) must be a whole number ≥ 0") }
        return value
    }

    /// The job named in the path, if the caller may see it (a user's jobs are
    /// theirs alone; another's look like missing ones).
    private static func visibleJob(_ request: Request, _ context: APIContext, _ store: Store) throws -> Job {
        let user = try context.requireUser()
        guard let id = context.parameters.get("id", as: Int64.self) else { throw APIError(.badRequest, "job id must be a number") }
        guard let job = try store.job(id), user.role == .admin || job.user == user.email else {
            throw APIError(.notFound, "no job \(id)")
        }
        return job
    }
}
