import Hummingbird

/// A database that refuses a write (a full disk) or has stopped answers 503:
/// nothing was stored, and the same request may be sent again.
struct StoreUnavailable<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as StoreError {
            throw APIError(.serviceUnavailable, "\(error)")
        }
    }
}
