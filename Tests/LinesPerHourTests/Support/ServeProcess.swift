import Foundation

/// The real `lph serve` binary, run in a scratch folder.
final class ServeProcess {
    let process = Process()

    init(in scratch: Scratch, agent: String, _ more: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: lphBinary)
        process.arguments = ["serve", "--listen", "127.0.0.1:0", "--max-jobs", "1", "--agent", agent] + more
        process.currentDirectoryURL = URL(fileURLWithPath: scratch.path)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

