import Foundation
import GRDB
import Hummingbird

/// Every API error: `{"error": "…"}` with the fitting status.
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let message: String

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = try JSONSerialization.data(withJSONObject: ["error": message], options: [.sortedKeys, .withoutEscapingSlashes])
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// A JSON answer encoded with the API's conventions (snake_case keys).
struct JSONBody<Value: Encodable & Sendable>: ResponseGenerator {
    var value: Value
    var status: HTTPResponse.Status = .ok

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONCoding.encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// A database that refuses a write (a full disk) or has stopped answers 503:
/// nothing was stored, and the same request may be sent again.
struct StoreUnavailable<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as DatabaseError {
            throw APIError(.serviceUnavailable, "the database refuses writes now, nothing was stored; try again later: \(error.message ?? "\(error.resultCode)")")
        } catch let error as StoreError {
            throw APIError(.serviceUnavailable, "\(error)")
        }
    }
}
