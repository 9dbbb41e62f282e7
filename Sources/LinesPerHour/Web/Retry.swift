import Hummingbird

/// `POST /jobs/{id}/retry`: the ended job's request again, as a new job
/// linked to it (`retry_of`); with `"resume": true`, continuing the agent
/// CLI's recorded session (stream-json jobs) instead of starting over.
enum Retry {
    struct Body: RequestBody {
        var resume: Bool?
        static let keys: Set<String> = ["resume"]
    }

    static func run(_ job: Job, resume: Bool, _ deps: HTTPServer.Dependencies) async throws -> Int64 {
        guard job.status.isFinal else { throw APIError(.conflict, "job \(job.id) has not ended; cancel it first") }
        var session: String?
        if resume {
            guard deps.executor.profile(of: job) == .streamJSON else {
                throw APIError(.conflict, "only a stream-json job can be resumed in its agent's session")
            }
            guard let recorded = job.sessionId else { throw APIError(.conflict, "job \(job.id) recorded no agent session to resume") }
            session = recorded
        }
        return try await deps.intake.submit(JobRequest(retrying: job, resuming: session))
    }
}
