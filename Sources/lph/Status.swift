import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LinesPerHour

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Say what the running daemon is doing: jobs running and waiting, and any problem.")

    @Option(help: "The daemon's address.")
    var server = "http://\(defaults.host):\(defaults.port)"

    func run() async throws {
        guard let url = URL(string: server + "/healthz") else { throw Failure("bad address \(server)") }
        let data: Data
        do {
            data = try await URLSession.shared.data(from: url).0
        } catch {
            throw Failure("no daemon answers at \(server): \(error.localizedDescription)")
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
