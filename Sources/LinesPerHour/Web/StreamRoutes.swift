import Hummingbird

/// The Server-Sent-Event streams.
enum StreamRoutes {
    static func add(to api: RouterGroup<APIContext>, _ deps: HTTPServer.Dependencies, sessions: StreamSessions) {
        let stream = EventStream(store: deps.store, hub: StreamHub(deps.broadcaster))
        let broadcast: [StreamName] = [.logs, .insights, .knowledge, .jobs, .artifacts]
        api.get("/streams/:type") { request, context in
            guard let type = context.parameters.get("type").flatMap(StreamName.init(rawValue:)), broadcast.contains(type) else {
                throw APIError(.notFound, "no such stream; the streams are \(broadcast.map(\.rawValue).joined(separator: ", "))")
            }
            let after = try await journalStart(request, [type], context, deps.store)
            return try sse(request, context, sessions) { user, session, writer in
                try await stream.journal([type], after: after, user: user, session: session, to: &writer)
            }
        }
        api.get("/streams") { request, context in
            let raw = request.uri.queryParameters.get("types").map { String($0) } ?? broadcast.map(\.rawValue).joined(separator: ",")
            let types = try raw.split(separator: ",").map { name in
                guard let type = StreamName(rawValue: String(name)), broadcast.contains(type) else {
                    throw APIError(.badRequest, "unknown stream \"\(name)\"")
                }
                return type
            }
            let after = try await journalStart(request, types, context, deps.store)
            return try sse(request, context, sessions) { user, session, writer in
                try await stream.journal(types, after: after, user: user, session: session, to: &writer)
            }
        }
        api.get("/jobs/:id/logs/stream") { request, context in
            let job = try await HTTPServer.visibleJob(context, deps.store)
            let after = try lastEventID(request)
            return try sse(request, context, sessions) { _, session, writer in
                try await stream.jobLog(job.id, after: after, session: session, to: &writer)
            }
        }
    }

    /// An event-stream response; the body runs until the client leaves (noticed
    /// at once), the stream ends, the user's token is replaced, or the daemon shuts down.
    private static func sse(_ request: Request, _ context: APIContext, _ sessions: StreamSessions,
                            _ body: @escaping @Sendable (User, StreamSessions.Session, inout any ResponseBodyWriter) async throws -> Void) throws -> Response {
        let user = try context.requireUser()
        try sessions.admit(user.id)
        let channel = context.channel
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .init("X-Accel-Buffering")!: "no"],
            body: ResponseBody { writer in
                MetricsEndpoint.sseClients.increment()
                let session = sessions.register(user.id)
                defer {
                    sessions.close(session)
                    MetricsEndpoint.sseClients.decrement()
                }
                // A client that leaves ends its stream at once, through the feed the stream
                // waits on; its connection is closed too, so that a write waiting for a client
                // that stopped reading fails. (Hummingbird's consumeWithCancellationOnInboundClose
                // cancels the stream's task instead, at the price of three more tasks a stream: 16 KiB each.)
                do {
                    let clientLeft = try await request.body.consumeWithInboundCloseHandler { _ in
                        do {
                            try await body(user, session, &writer)
                        } catch where session.clientLeft {
                            // a write to a client that left
                        }
                        return session.over()
                    } onInboundClosed: {
                        if session.clientLeaves() { channel.close(promise: nil) }
                    }
                    guard !clientLeft else { return }
                } catch is CancellationError {
                    return  // the daemon is shutting down
                }
                try await writer.finish(nil)
            }
        )
    }

    /// Where a journal stream's replay starts: `Last-Event-ID` or `?after=N`, or,
    /// with `?tail=N` alone, just before the last N rows, so that a dashboard
    /// opened on a long-lived database gets the recent past, not all of it.
    private static func journalStart(_ request: Request, _ streams: [StreamName], _ context: APIContext, _ store: any Store) async throws -> Int64 {
        let user = try context.requireUser()
        guard request.headers[.init("Last-Event-ID")!] == nil, request.uri.queryParameters.get("after") == nil,
              let tail = try HTTPServer.intParameter(request, "tail") else { return try lastEventID(request) }
        guard (0...100_000).contains(tail) else { throw APIError(.badRequest, "tail must be 0…100000") }
        return try await store.journalTail(streams, count: Int(tail), userID: user.visibleOwner)
    }

    /// `Last-Event-ID` (sent by a reconnecting EventSource) or `?after=N`.
    private static func lastEventID(_ request: Request) throws -> Int64 {
        if let header = request.headers[.init("Last-Event-ID")!] {
            guard let id = Int64(header), id >= 0 else { throw APIError(.badRequest, "Last-Event-ID must be a whole number") }
            return id
        }
        return try HTTPServer.intParameter(request, "after") ?? 0
    }
}
