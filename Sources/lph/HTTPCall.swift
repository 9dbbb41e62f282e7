import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where the running daemon is, and the token to show it: shared by the
/// commands that act through the daemon (so its one writer stays the only one).
struct DaemonOptions: ParsableArguments {
    @Option(help: "The daemon's address.")
    var server = "http://\(defaults.host):\(defaults.port)"
    @Option(help: "A token (default: the one in <state-dir>/admin.token).")
    var token: String?
    @Option(help: "The daemon's state folder.")
    var stateDir = defaults.stateDirectory

    /// Calls the daemon; answers the status and the body, or fails with a readable reason.
    func call(_ method: String, _ path: String, body: [String: Any]? = nil, headers: [String: String] = [:]) async throws -> (Int, Data) {
        guard let target = URL(string: server + path) else { throw Failure("bad address \(server)") }
        var request = URLRequest(url: target)
        request.httpMethod = method
        request.timeoutInterval = 30
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.setValue("Bearer \(try token ?? readToken())", forHTTPHeaderField: "Authorization")
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
        } catch {
            throw Failure("cannot reach the daemon at \(server): \(error.localizedDescription)")
        }
    }

    /// Calls the daemon and fails unless it answers 2xx.
    func expectSuccess(_ method: String, _ path: String, body: [String: Any]? = nil) async throws -> Data {
        let (status, data) = try await call(method, path, body: body)
        guard (200..<300).contains(status) else {
            let reason = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["error"] as? String
            throw Failure("\(status): \(reason ?? String(decoding: data, as: UTF8.self))")
        }
        return data
    }

    private func readToken() throws -> String {
        var settings = defaults
        settings.stateDirectory = stateDir
        let path = settings.adminTokenPath
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw Failure("no token: pass --token, or run where \(path) is readable")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
