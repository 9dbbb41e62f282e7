import ArgumentParser
import Foundation
import LinesPerHour

struct Diff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a job changed, as a unified diff against the project as it was when the job started.")

    @OptionGroup var daemon: DaemonOptions
    @Flag(help: "Only the files with their lines added and removed.")
    var stat = false
    @Argument(help: "The job id.")
    var job: Int64

    func run() async throws {
        guard stat else {
            FileHandle.standardOutput.write(try await daemon.expectSuccess("GET", "/jobs/\(job)/diff"))
            return
        }
        let changes = try JSONCoding.decoder.decode([FileChange].self, from: try await daemon.expectSuccess("GET", "/jobs/\(job)/changes"))
        for change in changes {
            let counts = change.binary ? "binary" : "+\(change.linesAdded) -\(change.linesRemoved)"
            let path = change.oldPath.map { "\($0) → \(change.path)" } ?? change.path
            say("\(counts.padding(toLength: 16, withPad: " ", startingAt: 0)) \(change.kind.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(TerminalText.escaped(path))")
        }
        let added = changes.reduce(0) { $0 + $1.linesAdded }, removed = changes.reduce(0) { $0 + $1.linesRemoved }
        say("\(changes.count) files changed, \(added) lines added, \(removed) removed")
    }
}

struct Revert: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put the files a job changed back as they were at its start (refused when a later job changed the same files).")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "The job id.")
    var job: Int64

    func run() async throws {
        let changes = try JSONCoding.decoder.decode([FileChange].self, from: try await daemon.expectSuccess("POST", "/jobs/\(job)/revert"))
        say("job \(job): \(changes.count) files put back as they were")
    }
}
