import Hummingbird

/// `/jobs…` and `POST /projects/{project}/jobs`.
enum JobRoutes {
    struct NewJob: RequestBody {
        var specification: String
        var user: String?
        var agent: String?
        static let keys: Set<String> = ["specification", "user", "agent"]
    }

    static func add(to api: RouterGroup<APIContext>, _ deps: HTTPServer.Dependencies) {
        api.post("/projects/:project/jobs") { request, context in
            let caller = try context.requireUser()
            let body = try await HTTPServer.decode(NewJob.self, from: request)
            let project = context.parameters.get("project") ?? ""
            let key = request.headers[.init("Idempotency-Key")!]
            if let key, key.isEmpty || key.utf8.count > 255 || !key.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) {
                throw APIError(.badRequest, "Idempotency-Key must be 1 to 255 printable ASCII characters")
            }
            // A user submits as themselves; an admin may name someone else.
            let owner = caller.role == .admin ? (body.user ?? caller.email) : caller.email
            if caller.role != .admin, let named = body.user, named.lowercased() != caller.email.lowercased() {
                throw APIError(.forbidden, "a user submits jobs as themselves")
            }
            do {
                let agent = try body.agent.map(JobFile.profile)
                let id = try await deps.intake.submit(JobRequest(project: project, specification: body.specification, user: owner, agent: agent,
                                                                       idempotencyKey: key))
                return JSONBody(value: try await deps.store.job(id)!, status: .created)
            } catch let rejection as Rejection where rejection.kind == .notYours {
                // As everywhere, another user's things look missing to a user: no word of whose it is.
                throw APIError(.notFound, "no project \(project) of yours; choose another name")
            } catch let rejection as Rejection {
                throw APIError(rejection.kind == .tooLarge ? .contentTooLarge : .unprocessableContent, rejection.reason)
            }
        }
        api.get("/jobs") { request, context in
            let user = try context.requireUser()
            let status = try request.uri.queryParameters.get("status").map { value in
                guard let s = JobStatus(rawValue: String(value)) else { throw APIError(.badRequest, "unknown status \"\(value)\"") }
                return s
            }
            let project = request.uri.queryParameters.get("project").map { String($0) }
            let limit = try HTTPServer.intParameter(request, "limit") ?? 500
            guard (1...10_000).contains(limit) else { throw APIError(.badRequest, "limit must be from 1 to 10000") }
            let before = try HTTPServer.intParameter(request, "before")
            let jobs = try await deps.store.jobs(status: status, project: project, userID: user.visibleOwner, before: before, limit: Int(limit))
            // A full page may have more behind it: the next one starts before its last id.
            var response = try JSONBody(value: jobs).response(from: request, context: context)
            if jobs.count == Int(limit), let last = jobs.last {
                var next = request.uri.queryParameters.filter { $0.key != "before" }.map { "\($0.key)=\($0.value)" }
                next.append("before=\(last.id)")
                response.headers[.init("Link")!] = "</jobs?\(next.joined(separator: "&"))>; rel=\"next\""
            }
            return response
        }
        api.get("/jobs/:id") { _, context in
            JSONBody(value: try await HTTPServer.visibleJob(context, deps.store))
        }
        api.get("/jobs/:id/logs") { request, context in
            let job = try await HTTPServer.visibleJob(context, deps.store)
            let after = try HTTPServer.intParameter(request, "after") ?? 0
            let limit = try HTTPServer.intParameter(request, "limit") ?? 1000
            guard (1...10_000).contains(limit) else { throw APIError(.badRequest, "limit must be from 1 to 10000") }
            return JSONBody(value: try await deps.store.logs(job: job.id, after: after, limit: Int(limit)))
        }
        // What a job changed: the same access as its logs.
        api.get("/jobs/:id/changes") { _, context in
            let job = try await HTTPServer.visibleJob(context, deps.store)
            return JSONBody(value: try await deps.store.changes(job: job.id))
        }
        api.get("/jobs/:id/diff") { _, context in
            let job = try await HTTPServer.visibleJob(context, deps.store)
            // An ended job's diff is in the database; a running one's is measured now, where its project is.
            // A job not started yet (or from before changes were measured) has an empty diff.
            var patch = ""
            if let kept = try await deps.store.patch(job: job.id) {
                patch = kept
            } else if let (start, end) = try await deps.store.trees(job: job.id) {
                try await HTTPServer.requireProjectHere(job, deps.store, doing: "the diff of a job that runs")
                patch = try await deps.changes.patch(project: job.project, from: start, to: end)
            }
            return Response(status: .ok, headers: [.contentType: "text/x-diff; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: patch)))
        }
        api.post("/jobs/:id/revert") { _, context in
            let job = try await HTTPServer.visibleJob(context, deps.store)
            try await Revert.run(job, deps)
            return JSONBody(value: try await deps.store.changes(job: job.id))
        }
        api.post("/jobs/:id/retry") { request, context in
            let job = try await HTTPServer.visibleJob(context, deps.store)
            let body = try await HTTPServer.decode(Retry.Body.self, from: request, orEmpty: Retry.Body())
            do {
                let retry = try await Retry.run(job, resume: body.resume ?? false, deps)
                return JSONBody(value: try await deps.store.job(retry)!, status: .created)
            } catch let rejection as Rejection {
                throw APIError(.unprocessableContent, rejection.reason)
            }
        }
        api.post("/jobs/:id/cancel") { _, context in
            let job = try await HTTPServer.visibleJob(context, deps.store)
            // A running job's agent is stopped by the node that runs it.
            if job.status == .inProgress, let node = job.node, let here = try await deps.store.cluster()?.node, node != here {
                throw APIError(.conflict, "job \(job.id) runs on node \(node): cancel it there")
            }
            switch try await deps.executor.cancel(job.id) {
            case .notFound: throw APIError(.notFound, "no job \(job.id)")
            case .alreadyEnded(let status): throw APIError(.conflict, "job \(job.id) has already ended (\(status.rawValue))")
            case .stopping, .cancelled: return JSONBody(value: try await deps.store.job(job.id)!, status: .accepted)
            }
        }
    }
}
