import Hummingbird

/// `POST /jobs/{id}/revert`: the files a job changed put back as they were
/// at its start. Refused (409, naming the files) while a job runs in the
/// project, and when a later job changed any of the same files: reverting
/// then would undo that job's work too.
enum Revert {
    static func run(_ job: Job, _ deps: HTTPServer.Dependencies) async throws {
        guard job.status.isFinal else { throw APIError(.conflict, "job \(job.id) has not ended") }
        guard try await deps.store.runningJob(project: job.project) == nil else {
            throw APIError(.conflict, "a job runs in project \(job.project) now; revert once it has ended")
        }
        try await HTTPServer.requireProjectHere(job, deps.store, doing: "a revert")
        guard let (start, end) = try await deps.store.trees(job: job.id) else {
            throw APIError(.conflict, "job \(job.id) has no measured changes to revert")
        }
        let later = try await deps.store.laterChanges(to: job.id)
        guard later.isEmpty else {
            let files = later.prefix(10).map { "\($0.path) (job \($0.job))" }.joined(separator: ", ")
            throw APIError(.conflict, "later jobs changed the same files: \(files)\(later.count > 10 ? ", …" : "")")
        }
        try await deps.changes.revert(project: job.project, from: start, to: end)
        try await deps.store.announce("job \(job.id) reverted: its changes to \(job.project) were put back as they were", level: .info,
                                      job: job.id)
    }
}
