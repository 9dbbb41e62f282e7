import ArgumentParser
import Foundation
import LinesPerHour

struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit a job: writes a job file into the spool's incoming/ folder atomically.")

    @Option(help: "The spool folder.")
    var spool = "Spool"
    @Option(help: "The project (default: from the file, or its name).")
    var project: String?
    @Option(help: "The user's email (default: from the file, or the daemon's default user).")
    var user: String?
    @Option(help: "The agent profile: command, stream-json or speckit (default: from the file, or the daemon's --agent-profile).")
    var agentProfile: String?
    @Argument(help: "A .json, .md or .txt job file, or - for a specification on standard input.")
    var file: String

    func run() async throws {
        let bytes: [UInt8]
        let name: String
        if file == "-" {
            guard project != nil else { throw ValidationError("--project is needed when the specification comes from standard input") }
            bytes = Array(FileHandle.standardInput.readDataToEndOfFile())
            name = "stdin.md"
        } else {
            guard let data = FileManager.default.contents(atPath: file) else { throw Failure("cannot read \(file)") }
            bytes = Array(data)
            name = (file as NSString).lastPathComponent
        }
        var request: JobRequest
        do {
            request = try JobFile.parse(name: name, bytes: bytes)
            if let project { request.project = project }
            if let user { request.user = user }
            if let agentProfile { request.agent = try JobFile.profile(agentProfile) }
            request = try JobFile.validated(request)
        } catch {
            throw Failure("lph submit: \(error.reason)")
        }
        let path = try write(request, stem: (name as NSString).deletingPathExtension)
        print(path)
    }

    /// A temporary dotfile (ignored by the daemon), then a rename into place.
    private func write(_ request: JobRequest, stem: String) throws -> String {
        let incoming = spool + "/incoming"
        guard FileManager.default.fileExists(atPath: incoming) else {
            throw Failure("no \(incoming) folder: is the spool right (--spool)?")
        }
        let data = request.jobFile
        let unique = "\(Int(Date().timeIntervalSince1970 * 1000))-\(getpid())"
        let temporary = "\(incoming)/.\(stem)-\(unique).json.tmp"
        let final = "\(incoming)/\(stem)-\(unique).json"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, final) == 0 else {
            throw Failure("cannot rename \(temporary): \(String(cString: strerror(errno)))")
        }
        return final
    }
}
