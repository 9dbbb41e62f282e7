import ArgumentParser
import Foundation
import LinesPerHour

struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit a job: writes a job file into the spool's incoming/ folder atomically, or, with --http, posts it to the daemon.")

    @Option(help: "The spool folder.")
    var spool = defaults.spool
    @Option(help: "The project (default: from the file, or its name).")
    var project: String?
    @Option(help: "The user's email (default: from the file, or the daemon's default user).")
    var user: String?
    @Option(help: "The agent profile: command, stream-json or speckit (default: from the file, or the daemon's --agent-profile).")
    var agentProfile: String?
    @Flag(help: "Submit through the running daemon's HTTP API (--server, --token) instead of the spool folder.")
    var http = false
    @OptionGroup var daemon: DaemonOptions
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
        if http {
            print("job \(try await post(request))")
        } else {
            print(try write(request, stem: (name as NSString).deletingPathExtension))
        }
    }

    /// Posts the job with an `Idempotency-Key` of its own, and sends it again
    /// with the same key while the daemon cannot be reached or answers 503:
    /// an answer lost on the way never makes a second job.
    private func post(_ request: JobRequest) async throws -> Int64 {
        var body: [String: Any] = ["specification": request.specification]
        body["user"] = request.user
        body["agent"] = request.agent?.rawValue
        let key = UUID().uuidString
        var delay = 1.0
        for attempt in 1...5 {
            do {
                let (status, data) = try await daemon.call("POST", "/projects/\(request.project)/jobs", body: body, headers: ["Idempotency-Key": key])
                let answer = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
                if status == 201, let id = answer?["id"] as? Int { return Int64(id) }
                guard status == 503, attempt < 5 else {
                    throw Failure("lph submit: \(status): \(answer?["error"] as? String ?? String(decoding: data, as: UTF8.self))")
                }
            } catch let failure as Failure where failure.description.hasPrefix("cannot reach") && attempt < 5 {
                FileHandle.standardError.write(Data("\(failure); trying again with the same Idempotency-Key\n".utf8))
            }
            try await Task.sleep(for: .seconds(delay))
            delay *= 2
        }
        throw Failure("lph submit: the daemon did not take the job")
    }

    /// A temporary dotfile (ignored by the daemon), then a rename into place.
    private func write(_ request: JobRequest, stem: String) throws -> String {
        let incoming = Spool(root: spool).incoming
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
