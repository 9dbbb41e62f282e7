import Foundation
import Hummingbird

/// Checks the token (`Authorization: Bearer <token>`, the `lph_token`
/// cookie, or `?token=`) against the stored hashes and answers 401 without a
/// valid one. A valid `?token=` sets the cookie (HttpOnly, SameSite=Strict),
/// since EventSource cannot send headers, unless another site sent it there;
/// a state-changing request the cookie signs in must come from the dashboard
/// (``CrossSite``). Tokens are looked up by their
/// SHA-256 hash only: the token itself is never stored or logged.
struct BearerAuth: RouterMiddleware {
    typealias Context = APIContext
    let store: any Store
    static let cookie = "lph_token"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let (token, source) = Self.token(in: request) else {
            throw APIError(.unauthorized, "a token is needed: Authorization: Bearer <token>")
        }
        guard let user = try await store.user(tokenHash: Tokens.hash(token)) else {
            throw APIError(.unauthorized, "unknown token")
        }
        if source == .cookie { try CrossSite.requireDashboard(request) }
        var context = context
        context.user = user
        var response = try await next(request, context)
        if source == .query && CrossSite.maySignIn(request) {
            response.headers[values: .setCookie].append(Self.cookie(for: token))
        }
        return response
    }

    /// The session cookie for a valid token: not readable by scripts, never sent cross-site.
    static func cookie(for token: String) -> String {
        "\(cookie)=\(token); Path=/; HttpOnly; SameSite=Strict"
    }

    enum Source {
        case header, cookie, query
    }

    static func token(in request: Request) -> (String, Source)? {
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            return (String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces), .header)
        }
        if let cookies = request.headers[.cookie] {
            for pair in cookies.split(separator: ";") {
                let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0] == Self.cookie { return (String(parts[1]), .cookie) }
            }
        }
        return request.uri.queryParameters.get("token").map { (String($0), .query) }
    }
}
