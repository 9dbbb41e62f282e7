import Foundation
import Testing
@testable import LinesPerHour

@Suite struct FifoTests {
    /// Opens the FIFO for reading without blocking, then reads it blocking.
    final class Reader {
        let fd: Int32
        var buffer: [UInt8] = []

        init(_ path: String) {
            fd = open(path, O_RDONLY | O_NONBLOCK)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        }

        deinit { close(fd) }

        /// Reads lines until one satisfies `stop`; returns all of them.
        func lines(until stop: (String) -> Bool) -> [String] {
            var lines: [String] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                while let nl = buffer.firstIndex(of: 10) {
                    let line = String(decoding: buffer[..<nl], as: UTF8.self)
                    buffer.removeSubrange(...nl)
                    lines.append(line)
                    if stop(line) { return lines }
                }
                let n = read(fd, &chunk, chunk.count)
                if n <= 0 { return lines }
                buffer += chunk[..<n]
            }
        }
    }

    @Test func withNoReaderJobsRunAndLinesAreCountedThenAReaderGetsTheNextOnes() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "seq 1 20000"])
        try d.drop("Unread.md", "x")
        #expect(try await d.finished(try await d.jobID(forSpoolFile: "Unread.md")).status == .completed)

        let reader = Reader(d.spool.fifo)
        try d.drop("Read.md", "x")
        let id = try await d.jobID(forSpoolFile: "Read.md")
        let lines = await Task.detached { reader.lines { $0.contains("jobs [job=\(id)] info job \(id) completed") } }.value
        // The drops while nobody read are reported first, then every event in the contract's format.
        #expect(lines.first?.contains("logs warning fifo: ") == true)
        #expect(lines.first?.contains("lines dropped") == true)
        let format = #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (logs|jobs|log|insights|knowledge|artifacts)( \[job=\d+\])? (info|warning|error|debug) .*$/#
        #expect(lines.allSatisfy { $0.wholeMatch(of: format) != nil })
        // A reader that keeps up gets every line in order; one that falls behind
        // gets fewer, still in order, with the drops reported.
        let numbers = lines.filter { $0.contains(" log [job=\(id)] info ") }.compactMap { Int($0.split(separator: " ").last!) }
        #expect(zip(numbers, numbers.dropFirst()).allSatisfy { $0 < $1 })
        #expect(numbers == Array(1...20000) || lines.dropFirst().contains { $0.contains("lines dropped") })
        try await d.stop()
    }

    @Test func jsonLinesCarryTheContractKeys() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", #"echo 'say "hi"'"#]) { $0.fifoFormat = .json }
        let reader = Reader(d.spool.fifo)
        try d.drop("Json.md", "x")
        let id = try await d.jobID(forSpoolFile: "Json.md")
        let lines = await Task.detached { reader.lines { $0.contains("\"text\":\"job \(id) completed\"") } }.value
        let objects = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        for object in objects {
            #expect(Set(object.keys).isSuperset(of: ["id", "stream", "job_id", "level", "text", "timestamp"]))
        }
        #expect(objects.contains { $0["stream"] as? String == "log" && $0["text"] as? String == #"say "hi""# && $0["job_id"] as? Int == Int(id) })
        try await d.stop()
    }

    @Test func aLineTooLongForOneAtomicWriteIsCut() {
        let sink = FifoSink(path: "/nonexistent", format: .text, broadcaster: Broadcaster(), logger: .init(label: "t"))
        let event = Event(id: 1, stream: .log, jobID: 7, level: .info, text: String(repeating: "é", count: 5000), timestamp: "2026-01-01T00:00:00.000Z")
        let line = sink.line(for: event)
        #expect(line.count <= Int(PIPE_BUF))
        #expect(line.last == 10)
        #expect(String(validating: line, as: UTF8.self)?.contains("…[cut]") == true)
    }
}
