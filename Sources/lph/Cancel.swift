import ArgumentParser

struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cancel a job through the running daemon (its agent's process group is stopped).")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "The job id.")
    var job: Int64

    func run() async throws {
        _ = try await daemon.expectSuccess("POST", "/jobs/\(job)/cancel")
        print("job \(job): cancel requested")
    }
}
