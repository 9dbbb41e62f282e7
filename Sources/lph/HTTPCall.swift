import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOFoundationCompat
import NIOHTTP1

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
        var request = HTTPClientRequest(url: server + path)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.headers.add(name: "Authorization", value: "Bearer \(try token ?? readToken())")
        if let body {
            request.body = .bytes(try JSONSerialization.data(withJSONObject: body))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        do {
            return try await Self.send(request)
        } catch {
            throw Failure("cannot reach the daemon at \(server): \(error)")
        }
    }

    /// Sends a request and reads its whole answer (the API pages anything larger than this).
    static func send(_ request: HTTPClientRequest) async throws -> (Int, Data) {
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let answer = try await response.body.collect(upTo: 256 << 20)
        return (Int(response.status.code), Data(buffer: answer))
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
