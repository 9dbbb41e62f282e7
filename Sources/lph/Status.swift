import ArgumentParser
import AsyncHTTPClient
import Foundation
import LinesPerHour

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Say what the running daemon is doing: jobs running and waiting, and any problem.")

    @Option(help: "The daemon's address.")
    var server = "http://\(defaults.host):\(defaults.port)"

    func run() async throws {
        let data: Data
        do {
            data = try await DaemonOptions.send(HTTPClientRequest(url: server + "/healthz")).1
        } catch {
            throw Failure("no daemon answers at \(server): \(error)")
        }
        guard let health = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let status = health["status"] as? String else {
            throw Failure("\(server) did not answer as lph does")
        }
        say("lph at \(server): \(status)")
        if let running = health["running"] as? Int, let queued = health["queued"] as? Int {
            say("jobs: \(running) running, \(queued) waiting")
        }
        if let node = health["node"] as? String, let alive = health["nodes_alive"] as? Int {
            say("node \(TerminalText.escaped(node)), one of \(alive) alive on its database")
        }
        for problem in health["problems"] as? [String] ?? [] { say("problem: \(TerminalText.escaped(problem))") }
    }
}
