import Foundation
import Testing
@testable import LinesPerHour

/// The real `lph` binary's commands that act through a running daemon.
@Suite struct CommandLineTests {
    /// Runs `lph ARGS…` and answers its exit status and standard output.
    /// Runs the `lph` binary off the cooperative pool: it talks to a daemon in this process, which needs that pool to answer.
    func lph(_ arguments: [String]) async throws -> (Int32, String) {
        try await offThePool { try runLPH(arguments) }
    }

    private func runLPH(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: lphBinary)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    @Test func usersAreAddedListedAndGivenCreditsThroughTheDaemon() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"])
        let daemon = ["--server", "http://127.0.0.1:\(d.port)", "--token", d.daemon.newAdminToken!]
        let (added, token) = try await lph(["users", "add", "carol@example.com", "--credits", "500"] + daemon)
        #expect(added == 0)
        #expect(try await d.store.user(tokenHash: Tokens.hash(token.trimmingCharacters(in: .whitespacesAndNewlines)))?.email == "carol@example.com")
        let carol = try #require(try await d.store.user(email: "carol@example.com"))
        #expect(try await lph(["users", "credits", String(carol.id), "42"] + daemon).0 == 0)
        let (listed, table) = try await lph(["users", "list"] + daemon)
        #expect(listed == 0)
        #expect(table.split(separator: "\n").contains { $0.contains("carol@example.com") && $0.contains("42") })
        #expect(try await lph(["users", "add", "carol@example.com"] + daemon).0 == 1)         // exists: 409, a failure
        #expect(try await lph(["users", "add", "x@example.com", "--role", "boss"] + daemon).0 == 2)   // usage
        #expect(try await lph(["users", "list", "--server", "http://127.0.0.1:\(d.port)", "--token", "lph_forged"]).0 == 1)
        try await d.stop()
    }

    @Test func theConfigurationFileAndVariablesGiveDefaultsAndFlagsWin() async throws {
        let scratch = try Scratch()
        writeFile(scratch.file("lph.json"), #"{"max_jobs": 3, "retries": 1, "spool": "FromFile", "webhook": ["https://example.com/hook"]}"#)
        func settings(_ arguments: [String], _ environment: [String: String]) async throws -> (Int32, [String: String]) {
            try await offThePool {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: lphBinary)
                process.arguments = ["serve", "--print-settings"] + arguments
                process.currentDirectoryURL = URL(fileURLWithPath: scratch.path)
                process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LPH_") }.merging(environment) { $1 }
                let output = Pipe()
                process.standardOutput = output
                process.standardError = FileHandle.nullDevice
                try process.run()
                let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                let pairs = text.split(separator: "\n").map { $0.split(separator: " = ", maxSplits: 1).map(String.init) }
                return (process.terminationStatus, Dictionary(pairs.filter { $0.count == 2 }.map { ($0[0], $0[1]) }) { $1 })
            }
        }
        let (status, given) = try await settings(["--retries", "2"], ["LPH_MAX_JOBS": "4", "LPH_RETRY_DELAY": "7"])
        #expect(status == 0)
        #expect(given["spool"] == "FromFile" && given["webhook"] == "https://example.com/hook", "from the file")
        #expect(given["max_jobs"] == "4" && given["retry_delay"] == "7.0", "a variable wins over the file")
        #expect(given["retries"] == "2", "a flag wins over the file")
        #expect(given["sweep_interval"] == "600.0", "the built-in default")
        writeFile(scratch.file("broken.json"), #"{"max_jobs": "#)
        #expect(try await settings([], ["LPH_CONFIG": scratch.file("broken.json")]).0 == 1, "a broken file is a clear failure")
        #expect(try await settings([], ["LPH_CONFIG": scratch.file("missing.json")]).0 == 1, "a file named but missing too")
    }

    @Test func submitWritesTheAgentProfileIntoTheJobFile() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "echo '{\"type\":\"result\",\"subtype\":\"success\"}'"])
        let spec = d.scratch.file("Spec.md")
        try "---\nproject: Profiled\n---\nBuild it.\n".write(toFile: spec, atomically: true, encoding: .utf8)
        let (status, path) = try await lph(["submit", "--spool", d.scratch.file("Spool"), "--agent-profile", "stream-json", spec])
        #expect(status == 0)
        let name = (path.trimmingCharacters(in: .whitespacesAndNewlines) as NSString).lastPathComponent
        let job = try await d.finished(try await d.jobID(forSpoolFile: name))
        #expect(job.agent == .streamJSON && job.project == "Profiled")
        #expect(try await d.agentLines(job.id).map(\.message) == ["finished: success"])
        #expect(try await lph(["submit", "--spool", d.scratch.file("Spool"), "--agent-profile", "gpt", spec]).0 != 0)
        try await d.stop()
    }

    @Test func submitOverHTTPMakesTheJobThroughTheDaemon() async throws {
        let d = try await TestDaemon(agent: ["/bin/true"])
        let spec = d.scratch.file("Spec.md")
        try "---\nproject: OverHTTP\n---\nBuild it.\n".write(toFile: spec, atomically: true, encoding: .utf8)
        let (status, output) = try await lph(["submit", "--http", "--server", "http://127.0.0.1:\(d.port)", "--token", d.daemon.newAdminToken!, spec])
        #expect(status == 0)
        let id = try #require(Int64(output.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "job ", with: "")))
        #expect(try await d.finished(id).project == "OverHTTP")
        #expect(FileManager.default.fileExists(atPath: d.spool.accepted + "/\(id)-api.json"))
        try await d.stop()
    }
}
