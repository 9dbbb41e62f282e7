import Foundation
import Glibc
import Subprocess
import SystemPackage

/// Runs one agent command to its end: in `directory`, in a process group of
/// its own, the specification (or `/dev/null`) on standard input, both output
/// pipes read as raw buffers and cut into lines for `lines`.
struct AgentProcess {
    var command: [String]
    var directory: String
    var environment: [String: String]
    /// Standard input; nil is `/dev/null`.
    var specificationFile: String?

    /// Called with each batch of lines read from one pipe; `onStderr` tells which.
    typealias LineSink = @Sendable (_ lines: [String], _ onStderr: Bool) async -> Void

    func run(control: AgentControl, onStart: @Sendable (pid_t) async -> Void, lines: @escaping LineSink) async -> AgentEnd {
        guard let program = command.first else { return .couldNotStart("empty agent command") }
        var overrides: [Environment.Key: String?] = [:]
        for (key, value) in environment { overrides[Environment.Key(rawValue: key)!] = value }
        let environment = Environment.inherit.updating(overrides)
        var options = PlatformOptions()
        options.processGroupID = 0
        do {
            // A bare name is looked up on PATH with access(2) first: spawned by name, each PATH
            // entry before the right one costs a vfork and a failed exec (a dozen here, most of a start's time).
            let executable: Executable = program.contains("/")
                ? .path(FilePath(URL(fileURLWithPath: program).standardizedFileURL.path))
                : .path(try await Executable.name(program).resolveExecutablePath(in: environment))
            let configuration = Configuration(
                executable: executable,
                arguments: Arguments(Array(command.dropFirst())),
                environment: environment,
                workingDirectory: FilePath(directory),
                platformOptions: options
            )
            let status = if let specificationFile {
                try await spawn(configuration, input: .fileDescriptor(
                    try FileDescriptor.open(FilePath(specificationFile), .readOnly, options: [.closeOnExec]),
                    closeAfterSpawningProcess: true), control: control, onStart: onStart, lines: lines)
            } else {
                try await spawn(configuration, input: .none, control: control, onStart: onStart, lines: lines)
            }
            control.detach()
            switch status {
            case .exited(let code): return .exited(code)
            case .signaled(let signal): return .signalled(signal)
            }
        } catch let error as SubprocessError {
            control.detach()
            return .couldNotStart(Self.describe(error, program: program))
        } catch {
            control.detach()
            return .couldNotStart("cannot start the agent: \(error)")
        }
    }

    private func spawn(_ configuration: Configuration, input: some InputProtocol, control: AgentControl,
                       onStart: @Sendable (pid_t) async -> Void, lines: @escaping LineSink) async throws -> TerminationStatus {
        try await Subprocess.run(configuration, input: input, output: .sequence, error: .sequence) { execution in
            let pid = execution.processIdentifier.value
            await onStart(pid)
            if let early = control.attach(pgid: pid) { control.stop(early) }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await Self.pump(execution.standardOutput, onStderr: false, lines) }
                group.addTask { await Self.pump(execution.standardError, onStderr: true, lines) }
            }
        }.terminationStatus
    }

    /// A command line as a log line shows it: long words (a specification) shortened.
    static func commandLine(_ command: [String]) -> String {
        command.map { word in
            let line = word.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
            let short = line.count > 60 || line.count < word.count ? String(line.prefix(60)) + "…" : word
            return short.contains(" ") || short.isEmpty ? "'\(short)'" : short
        }.joined(separator: " ")
    }

    private static func pump(_ output: SubprocessOutputSequence, onStderr: Bool, _ sink: LineSink) async {
        var splitter = LineSplitter()
        do {
            for try await buffer in output {
                var batch: [String] = []
                buffer.withUnsafeBytes { raw in splitter.feed(raw) { batch.append($0) } }
                if !batch.isEmpty { await sink(batch, onStderr) }
            }
        } catch {
            await sink(["lph: reading the agent's \(onStderr ? "stderr" : "stdout") failed: \(error)"], true)
        }
        var rest: [String] = []
        splitter.finish { rest.append($0) }
        if !rest.isEmpty { await sink(rest, onStderr) }
    }

    private static func describe(_ error: SubprocessError, program: String) -> String {
        switch error.code {
        case .executableNotFound: "command not found: \(program)"
        case .failedToChangeWorkingDirectory: "cannot enter the project folder: \(error)"
        default: "cannot start the agent \(program): \(error)"
        }
    }
}
