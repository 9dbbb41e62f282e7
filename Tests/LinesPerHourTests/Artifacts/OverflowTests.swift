import Foundation
import GRDB
import Testing
@testable import LinesPerHour

/// A real inotify queue overflow: the daemon is paused (SIGSTOP) while more
/// files are written than the kernel's queue holds, so events are lost; once
/// resumed it must rescan and end with the table equal to the disk.
@Suite struct OverflowTests {
    @Test func anOverflowLeadsToARescanThatMissesNothing() async throws {
        let scratch = try Scratch()
        let limit = Int(try String(contentsOfFile: "/proc/sys/fs/inotify/max_queued_events", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines))!
        let daemon = try ServeProcess(in: scratch, agent: "/bin/true")
        defer { daemon.terminate() }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        func read<T>(_ sql: String, _ fetch: (Database, String) throws -> T) -> T? {
            guard let db = try? DatabaseQueue(path: scratch.file("lph.sqlite"), configuration: configuration) else { return nil }
            return try? db.read { try fetch($0, sql) }
        }
        func notes() -> [String] {
            read("SELECT message_text FROM stream_messages WHERE message_text LIKE 'rescan%'") { try String.fetchAll($0, sql: $1) } ?? []
        }
        try await eventually("the daemon's start rescan") { notes().contains { $0.contains("(start)") } }
        let top = scratch.file("generated_projects/Over")
        try FileManager.default.createDirectory(atPath: top, withIntermediateDirectories: true)
        try "probe\n".write(toFile: top + "/probe.txt", atomically: false, encoding: .utf8)
        try await eventually("the project folder to be watched") {
            read("SELECT count(*) FROM artifacts") { try Int.fetchOne($0, sql: $1) } == 1
        }

        // Two events a file (created, closed): enough files to overflow the queue.
        let files = limit / 2 + 1000
        kill(daemon.process.processIdentifier, SIGSTOP)
        try await offThePool {
            for n in 0..<files { writeFile(top + "/\(n).txt", "\(n)\n") }
        }
        kill(daemon.process.processIdentifier, SIGCONT)

        try await eventually("an overflow rescan") { notes().contains { $0.contains("inotify queue overflow") } }
        try await eventually("the table to hold every file", timeout: .seconds(120)) {
            read("SELECT count(*) FROM artifacts") { try Int.fetchOne($0, sql: $1) } == files + 1
        }
    }
}
