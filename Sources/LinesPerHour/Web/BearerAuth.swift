import Foundation
import Hummingbird

/// The request context of every route: Hummingbird's core, plus the user a
/// token proved, once ``BearerAuth`` has run.
struct APIContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var user: User?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    func requireUser() throws -> User {
        guard let user else { throw APIError(.unauthorized, "a token is needed") }
        return user
    }
}

/// Checks `Authorization: Bearer <token>` (or `?token=`) against the stored
/// token hashes and answers 401 without a valid one. Tokens are looked up by
/// their SHA-256 hash only: the token itself is never stored or logged.
struct BearerAuth: RouterMiddleware {
    typealias Context = APIContext
    let store: Store

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = Self.token(in: request) else {
            throw APIError(.unauthorized, "a token is needed: Authorization: Bearer <token>")
        }
        guard let user = try store.user(tokenHash: Tokens.hash(token)) else {
            throw APIError(.unauthorized, "unknown token")
        }
        var context = context
        context.user = user
        return try await next(request, context)
    }

    static func token(in request: Request) -> String? {
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            return String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        }
        return request.uri.queryParameters.get("token").map { String($0) }
    }
}
