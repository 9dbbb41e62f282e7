import ArgumentParser
import Foundation
import LinesPerHour

struct DemoAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-agent",
        abstract: "The bundled demonstration agent: walks the five phases and writes a small project. Not an AI.")

    @Option(help: "Seconds per phase (0 runs flat out).")
    var pace = 3.0
    @Option(help: "How many tasks, each one source file and one test.")
    var tasks = 6

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let specification = environment["LPH_SPEC_FILE"].flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }
            ?? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        let project = environment["LPH_PROJECT"] ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath).lastPathComponent
        try DemoAgent(secondsPerPhase: pace, tasks: tasks, project: project, specification: specification).run()
    }
}
