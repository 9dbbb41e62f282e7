import Foundation
import Glibc
import Testing
@testable import LinesPerHour

/// What a daemon that runs for months needs: pruning, systemd's notifications, and `lph status`.
@Suite struct ServiceTests {
    @Test func oldJobsLogsArePrunedAndNothingElse() async throws {
        let scratch = try Scratch()
        // Quick writes three lines and a file and ends; Slow runs until the test lets it end.
        let agent = try scratch.script("agent.sh", """
            echo one; echo two; echo three; echo kept > kept.txt
            [ "$LPH_PROJECT" = Slow ] && while [ ! -e \(scratch.file("go")) ]; do sleep 0.05; done
            exit 0
            """)
        let d = try await TestDaemon(scratch: scratch, agent: [agent]) {
            $0.retention = .milliseconds(1)
            $0.retentionInterval = .milliseconds(100)
        }
        try d.drop("Slow.md", "x")
        let slow = try await d.jobID(forSpoolFile: "Slow.md")
        try await eventually("the slow job's lines") { try await d.agentLines(slow).count == 3 }
        try d.drop("Quick.md", "x")
        let quick = try await d.finished(try await d.jobID(forSpoolFile: "Quick.md"))
        func journalRows(_ job: Int64) throws -> Int {
            try d.database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM stream_messages WHERE job_id = ?", arguments: [job]) ?? 0 }
        }
        try await eventually("the ended job's lines and journal rows pruned") {
            try await d.store.logs(job: quick.id).isEmpty && journalRows(quick.id) == 0
        }
        #expect(try await d.agentLines(slow).count == 3, "a running job's lines are kept")
        #expect(try journalRows(slow) > 0)
        #expect(try await d.job(quick.id)?.status == .completed, "the job itself stays")
        #expect(try await d.store.artifacts(type: nil, project: "Quick", job: nil, userID: nil).map(\.filePath) == ["kept.txt"])
        writeFile(scratch.file("go"), "")
        _ = try await d.finished(slow)
        try await eventually("the slow job's lines pruned once it ended") { try await d.store.logs(job: slow).isEmpty }
        let metrics = try await d.metrics()
        #expect(metrics.split(separator: "\n").contains { $0.hasPrefix("lph_database_bytes ") })
        try await d.stop()
    }

    @Test func systemdHearsReadyWatchdogAndStopping() async throws {
        let scratch = try Scratch()
        let socketPath = scratch.file("notify")
        let listener = try DatagramListener(path: socketPath)
        let d = try await TestDaemon(scratch: scratch, agent: ["/bin/true"]) {
            $0.notifySocket = socketPath
            $0.watchdog = .milliseconds(200)
        }
        var heard: [String] = []
        try await eventually("READY=1 and a watchdog ping") {
            heard += try await offThePool { listener.drain() }
            return heard.contains { $0.hasPrefix("READY=1\n") } && heard.contains("WATCHDOG=1")
        }
        try await d.stop()
        try await eventually("STOPPING=1") {
            heard += try await offThePool { listener.drain() }
            return heard.contains("STOPPING=1")
        }
    }

    @Test func statusSaysWhatTheDaemonIsDoing() async throws {
        let scratch = try Scratch()
        let agent = try scratch.script("agent.sh", "while [ ! -e \(scratch.file("go")) ]; do sleep 0.05; done")
        let d = try await TestDaemon(scratch: scratch, agent: [agent])
        try d.drop("Busy.md", "x")
        let busy = try await d.jobID(forSpoolFile: "Busy.md")
        try await eventually("the job to run") { try await d.job(busy)?.status == .inProgress }
        let (status, said) = try await CommandLineTests().lph(["status", "--server", "http://127.0.0.1:\(d.port)"])
        #expect(status == 0)
        #expect(said.contains("lph at http://127.0.0.1:\(d.port): ok") && said.contains("jobs: 1 running, 0 waiting"), "\(said)")
        writeFile(scratch.file("go"), "")
        _ = try await d.finished(busy)
        try await d.stop()
        #expect(try await CommandLineTests().lph(["status", "--server", "http://127.0.0.1:\(d.port)"]).0 == 1, "no daemon: a failure")
    }
}

/// A Unix datagram socket that keeps what is sent to it, as systemd's notification socket does.
final class DatagramListener: Sendable {
    let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    deinit { close(fd) }

    /// Every datagram waiting now.
    func drain() -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return messages }
            messages.append(String(decoding: buffer[..<n], as: UTF8.self))
        }
    }
}
