import ArgumentParser
import Foundation

@main
struct LPH: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lph",
        abstract: "LinesPerHour: a spool-driven daemon that runs coding agents and shows every line they write, live.",
        subcommands: [Serve.self, Submit.self, Jobs.self, Logs.self, Diff.self, Revert.self, Retry.self, Cancel.self, Status.self, Users.self, DemoAgentCommand.self]
    )

    /// Exit codes as the contract gives them: 0 success, 1 failure, 2 usage.
    static func main() async {
        do {
            // Read before the flags are parsed: what they do not say, the configuration does. The demo
            // agent runs in a project's folder with the daemon's environment: it has none to read.
            if CommandLine.arguments.dropFirst().first != DemoAgentCommand.configuration.commandName { try await Configured.load() }
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success || code.rawValue == 0 {
                exit(withError: error)
            }
            let message = fullMessage(for: error)
            if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
            if code == .validationFailure || error is ValidationError {
                Foundation.exit(2)
            }
            Foundation.exit(1)
        }
    }
}

/// A failure meant for the person at the terminal: printed, exit status 1.
struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Prints one line unbuffered, so a pipe reader sees it at once.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
