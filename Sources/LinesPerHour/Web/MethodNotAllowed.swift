import Foundation
import Hummingbird

/// Answers 405 with `Allow` for a path the API has, asked with a method it
/// does not take (`DELETE /jobs/1`); a path it does not have stays 404.
///
/// Added after every route, it wraps only the router's not-found answer.
struct MethodNotAllowed<Context: RequestContext>: RouterMiddleware {
    /// Each route's path segments (a capture, `{name}`, matches any one) and method.
    let routes: [(segments: [Substring], method: HTTPRequest.Method)]

    init(_ routes: [Router<Context>.RouteDescription]) {
        self.routes = routes.map { ($0.path.description.split(separator: "/"), $0.method) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let asked = request.uri.path.split(separator: "/")
            // The most literal routes win, as the router's own matching does: `/users/me` is not `/users/{id}`.
            let matching = routes.filter { matches($0.segments, asked) }
            let literal = matching.map { $0.segments.filter { !$0.hasPrefix("{") }.count }.max() ?? 0
            let allowed = matching.filter { $0.segments.filter { !$0.hasPrefix("{") }.count == literal }.map(\.method.rawValue)
            guard !allowed.isEmpty else { throw error }
            let allow = Set(allowed).sorted().joined(separator: ", ")
            let body = try JSONSerialization.data(withJSONObject: ["error": "\(request.method.rawValue) is not allowed here; allowed: \(allow)"],
                                                  options: [.sortedKeys])
            return Response(status: .methodNotAllowed, headers: [.allow: allow, .contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }

    private func matches(_ route: [Substring], _ asked: [Substring]) -> Bool {
        route.count == asked.count && zip(route, asked).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
    }
}
