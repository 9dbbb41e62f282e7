import Hummingbird

/// Projects, artifacts and users.
enum ResourceRoutes {
    struct NewUser: RequestBody {
        var email: String
        var role: Role?
        var lineCredits: Int64?
        static let keys: Set<String> = ["email", "role", "line_credits"]
    }

    struct Credits: RequestBody {
        var lineCredits: Int64
        static let keys: Set<String> = ["line_credits"]
    }

    struct Budget: RequestBody {
        var budgetUsd: Double?
        static let keys: Set<String> = ["budget_usd"]
    }

    struct CreatedUser: Encodable, Sendable {
        var user: User
        var token: String
    }

    /// Line credits a user can hold: far from Int64's end, so that charging and
    /// refunding never overflow.
    static let credits: ClosedRange<Int64> = 0...1_000_000_000_000_000
    static let creditsRule = "line_credits is a whole number from 0 to 10^15"

    static func add(to api: RouterGroup<APIContext>, _ deps: HTTPServer.Dependencies, sessions: StreamSessions) {
        let store = deps.store
        api.get("/projects") { _, context in
            let user = try context.requireUser()
            return JSONBody(value: try await store.projects(userID: user.visibleOwner))
        }
        api.get("/artifacts") { request, context in
            let user = try context.requireUser()
            let query = request.uri.queryParameters
            let type = try query.get("type").map { raw in
                guard let kind = FileFacts.Kind(rawValue: String(raw)) else { throw APIError(.badRequest, "unknown type \"\(raw)\"") }
                return kind
            }
            return JSONBody(value: try await store.artifacts(type: type, project: query.get("project").map { String($0) },
                                                       job: try HTTPServer.intParameter(request, "job"),
                                                       userID: user.visibleOwner))
        }
        api.get("/artifacts/:id") { _, context in
            let user = try context.requireUser()
            let id = try HTTPServer.pathID(context)
            guard let artifact = try await store.artifact(id, userID: user.visibleOwner) else {
                throw APIError(.notFound, "no artifact \(id)")
            }
            return JSONBody(value: artifact)
        }
        api.get("/projects/:project/knowledge") { _, context in
            let user = try context.requireUser()
            let project = context.parameters.get("project") ?? ""
            guard let facts = try await store.knowledge(project: project, userID: user.visibleOwner) else {
                throw APIError(.notFound, "no project \(project)")
            }
            return JSONBody(value: facts)
        }
        api.get("/insights") { request, context in
            let user = try context.requireUser()
            let insights = try await store.insights(job: try HTTPServer.intParameter(request, "job"), userID: user.visibleOwner)
            // The same objects as the stream's `data:` lines, payload included.
            let body = "[" + insights.map(\.json).joined(separator: ",") + "]"
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        api.get("/users/me") { _, context in JSONBody(value: try context.requireUser()) }
        // The webhook outbox, newest first: what was delivered, what is tried again, what was given up.
        api.get("/webhooks/deliveries") { request, context in
            _ = try HTTPServer.requireAdmin(context)
            let limit = try HTTPServer.intParameter(request, "limit") ?? 100
            guard (1...10_000).contains(limit) else { throw APIError(.badRequest, "limit must be from 1 to 10000") }
            return JSONBody(value: try await store.deliveries(limit: Int(limit)))
        }
        api.get("/users") { _, context in
            _ = try HTTPServer.requireAdmin(context)
            return JSONBody(value: try await store.users())
        }
        api.post("/users") { request, context in
            _ = try HTTPServer.requireAdmin(context)
            let body = try await HTTPServer.decode(NewUser.self, from: request)
            let email = body.email.trimmingCharacters(in: .whitespaces)
            guard email.contains("@"), email.count <= 254 else { throw APIError(.unprocessableContent, "email must look like name@host") }
            guard Self.credits.contains(body.lineCredits ?? 0) else { throw APIError(.unprocessableContent, Self.creditsRule) }
            guard try await store.user(email: email) == nil else { throw APIError(.conflict, "user \(email) exists") }
            let (user, token) = try await store.createUser(email: email, role: body.role ?? .user, credits: body.lineCredits ?? 0)
            return JSONBody(value: CreatedUser(user: user, token: token), status: .created)
        }
        api.post("/users/:id/credits") { request, context in
            _ = try HTTPServer.requireAdmin(context)
            let id = try HTTPServer.pathID(context)
            let body = try await HTTPServer.decode(Credits.self, from: request)
            guard Self.credits.contains(body.lineCredits) else { throw APIError(.unprocessableContent, Self.creditsRule) }
            guard let user = try await store.setCredits(user: id, to: body.lineCredits) else {
                throw APIError(.notFound, "no user \(id)")
            }
            return JSONBody(value: user)
        }
        api.post("/users/:id/budget") { request, context in
            _ = try HTTPServer.requireAdmin(context)
            let id = try HTTPServer.pathID(context)
            let body = try await HTTPServer.decode(Budget.self, from: request)
            if let budget = body.budgetUsd, !(0...1_000_000_000).contains(budget) {
                throw APIError(.unprocessableContent, "budget_usd is a number of US dollars from 0 to 10^9, or null for none")
            }
            guard let user = try await store.setBudget(user: id, to: body.budgetUsd) else { throw APIError(.notFound, "no user \(id)") }
            return JSONBody(value: user)
        }
        // A new token for the user; the old one stops working, and its open streams end, at once.
        api.post("/users/:id/token") { _, context in
            _ = try HTTPServer.requireAdmin(context)
            let id = try HTTPServer.pathID(context)
            guard let (user, token) = try await store.replaceToken(user: id) else {
                throw APIError(.notFound, "no user \(id)")
            }
            sessions.endAll(of: id)
            return JSONBody(value: CreatedUser(user: user, token: token))
        }
        api.delete("/users/:id") { _, context in
            let admin = try HTTPServer.requireAdmin(context)
            let id = try HTTPServer.pathID(context)
            guard id != admin.id else { throw APIError(.conflict, "an admin cannot delete themselves") }
            guard try await store.deleteUser(id) else {
                throw APIError(.notFound, "no user \(id)")
            }
            sessions.endAll(of: id)
            return Response(status: .noContent)
        }
    }
}
