import ArgumentParser
import Foundation
import LinesPerHour

struct Retry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an ended job's request again as a new job linked to it; with --resume, in the agent CLI's own session.")

    @OptionGroup var daemon: DaemonOptions
    @Flag(help: "Continue the agent CLI's recorded session (stream-json jobs) instead of starting over.")
    var resume = false
    @Argument(help: "The job id.")
    var job: Int64

    func run() async throws {
        let data = try await daemon.expectSuccess("POST", "/jobs/\(job)/retry", body: ["resume": resume])
        let retry = try JSONCoding.decoder.decode(Job.self, from: data)
        say("job \(job): retried as job \(retry.id)" + (resume ? ", resuming its agent's session" : ""))
    }
}
