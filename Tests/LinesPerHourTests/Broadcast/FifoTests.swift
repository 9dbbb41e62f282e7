import Foundation
import Synchronization
import Testing
@testable import LinesPerHour

@Suite struct FifoTests {
    /// Reads the FIFO on a thread of its own (never a Swift concurrency
    /// thread), collecting whole lines until stopped.
    final class Reader: Sendable {
        private let fd: Int32
        private let state = Mutex<(lines: [String], paused: Bool, stopped: Bool)>(([], false, false))

        /// Opens the FIFO without blocking; `paused` readers hold it open but read nothing yet.
        /// `pipeSize` asks the kernel for a larger pipe buffer.
        init(_ path: String, paused: Bool = false, pipeSize: Int32? = nil) {
            fd = open(path, O_RDONLY | O_NONBLOCK)
            if let pipeSize { precondition(fcntl(fd, F_SETPIPE_SZ, pipeSize) >= pipeSize, "cannot enlarge the pipe") }
            state.withLock { $0.paused = paused }
            Thread { [self] in self.loop() }.start()
        }

        var lines: [String] { state.withLock { $0.lines } }

        /// Bytes waiting in the pipe, not read yet.
        var unread: Int32 {
            var count: Int32 = 0
            _ = ioctl(fd, UInt(FIONREAD), &count)
            return count
        }
        func resume() { state.withLock { $0.paused = false } }

        func stop() {
            state.withLock { $0.stopped = true }
        }

        private func loop() {
            defer { close(fd) }
            var partial: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let (paused, stopped) = state.withLock { ($0.paused, $0.stopped) }
                if stopped { return }
                var pfd = pollfd(fd: fd, events: paused ? 0 : Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, 50) > 0, !paused else { continue }
                let n = read(fd, &chunk, chunk.count)
                guard n > 0 else { continue }
                partial += chunk[..<n]
                var complete: [String] = []
                var start = partial.startIndex
                while let nl = partial[start...].firstIndex(of: 10) {
                    complete.append(String(decoding: partial[start..<nl], as: UTF8.self))
                    start = nl + 1
                }
                partial.removeSubrange(..<start)
                state.withLock { $0.lines += complete }
            }
        }
    }

    func waitForLine(_ reader: Reader, containing text: String) async throws -> [String] {
        try await eventually("a FIFO line with \(text)") { reader.lines.contains { $0.contains(text) } }
        return reader.lines
    }

    @Test func withNoReaderLinesAreDroppedAndCountedThenAReaderGetsEveryLineInOrder() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "seq 1 500"])
        try d.drop("Unread.md", "x")
        #expect(try await d.finished(try await d.jobID(forSpoolFile: "Unread.md")).status == .completed)

        let reader = Reader(d.spool.fifo)
        defer { reader.stop() }
        try d.drop("Read.md", "x")
        let id = try await d.jobID(forSpoolFile: "Read.md")
        let lines = try await waitForLine(reader, containing: "jobs [job=\(id)] info job \(id) completed")
        // The drops while nobody read are reported first, then every event in the contract's format.
        #expect(lines.first?.contains("logs warning fifo: ") == true)
        #expect(lines.first?.contains("lines dropped") == true)
        let format = #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (logs|jobs|log|insights|knowledge|artifacts)( \[job=\d+\])? (info|warning|error|debug) .*$/#
        #expect(lines.allSatisfy { $0.wholeMatch(of: format) != nil })
        // 500 short lines fit in the pipe's buffer, however late the reader reads.
        let numbers = lines.filter { $0.contains(" log [job=\(id)] info ") }.compactMap { Int($0.split(separator: " ").last!) }
        #expect(numbers == Array(1...500))
        try await d.stop()
    }

    @Test func aReaderTooSlowLosesLinesNotItsPlaceAndHearsHowMany() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", #"[ "$LPH_PROJECT" = Flood ] && seq 1 50000 || echo after"#])
        // The sink may still hold a backlog (at most its 20,000 queued events, about 1 MB of these short lines) when the
        // reader first empties the pipe: a pipe that holds all of it lets the next job's lines through whole,
        // however the reader's and the sink's threads are scheduled. The flood (50,000 lines) still overflows it.
        let reader = Reader(d.spool.fifo, paused: true, pipeSize: 1 << 20)
        defer { reader.stop() }
        try d.drop("Flood.md", "x")
        // The reader reads nothing while the job writes far more than a pipe holds.
        let floodID = try await d.jobID(forSpoolFile: "Flood.md")
        #expect(try await d.finished(floodID).status == .completed)
        reader.resume()
        // Once the reader has emptied the pipe, the next job's few lines fit in it whole.
        try await eventually("the reader to empty the pipe") { !reader.lines.isEmpty && reader.unread == 0 }
        try d.drop("After.md", "x")
        let id = try await d.jobID(forSpoolFile: "After.md")
        let lines = try await waitForLine(reader, containing: "job \(id) completed")
        #expect(lines.contains { $0.contains("lines dropped") })
        let flood = lines.filter { $0.contains(" log [job=\(floodID)] info ") }.compactMap { Int($0.split(separator: " ").last!) }
        #expect(flood.count < 50000)
        #expect(zip(flood, flood.dropFirst()).allSatisfy { $0 < $1 })
        try await d.stop()
    }

    @Test func jsonLinesCarryTheContractKeys() async throws {
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", #"echo 'say "hi"'"#]) { $0.fifoFormat = .json }
        let reader = Reader(d.spool.fifo)
        defer { reader.stop() }
        try d.drop("Json.md", "x")
        let id = try await d.jobID(forSpoolFile: "Json.md")
        let lines = try await waitForLine(reader, containing: "\"text\":\"job \(id) completed\"")
        let objects = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        for object in objects {
            #expect(Set(object.keys).isSuperset(of: ["id", "stream", "job_id", "level", "text", "timestamp"]))
        }
        #expect(objects.contains { $0["stream"] as? String == "log" && $0["text"] as? String == #"say "hi""# && $0["job_id"] as? Int == Int(id) })
        try await d.stop()
    }

    @Test func aLineTooLongForOneAtomicWriteIsCut() {
        let sink = FifoSink(path: "/nonexistent", format: .text, broadcaster: Broadcaster(), logger: .init(label: "t"))
        let event = Event(id: 1, stream: .jobLog, jobID: 7, level: .info, text: String(repeating: "é", count: 5000), timestamp: "2026-01-01T00:00:00.000Z")
        let line = sink.line(for: event)
        #expect(line.count <= Int(PIPE_BUF))
        #expect(line.last == 10)
        #expect(String(validating: line, as: UTF8.self)?.contains("…[cut]") == true)
    }
}

/// `F_SETPIPE_SZ` from Linux's `<fcntl.h>` (F_LINUX_SPECIFIC_BASE + 7), hidden from Swift without `_GNU_SOURCE`.
private let F_SETPIPE_SZ: Int32 = 1031
