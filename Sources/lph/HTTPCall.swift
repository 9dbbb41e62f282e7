import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The command line's calls to a running daemon.
enum HTTPCall {
    static func post(_ url: String, token: String) async throws -> (Int, String) {
        guard let target = URL(string: url) else { throw Failure("bad address \(url)") }
        var request = URLRequest(url: target)
        request.httpMethod = "POST"
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
        } catch {
            throw Failure("cannot reach the daemon at \(url): \(error.localizedDescription)")
        }
    }
}
