import Foundation
import Logging
import Synchronization
import Testing
@testable import LinesPerHour

/// What an agent prints and what a job file is named reach one-line outputs:
/// the FIFO's text lines, `lph logs`, the daemon's log. None of it may start a
/// forged line or drive a terminal; what is stored is what was sent.
@Suite struct OneLineOutputTests {
    @Test func controlCharactersAreEscapedForTerminalsAndKeptInTheStore() {
        #expect(TerminalText.escaped("plain text, tabs\tand ünïcödé ✓") == "plain text, tabs\tand ünïcödé ✓")
        #expect(TerminalText.escaped("ok\r\n2026-01-01T00:00:00.000Z logs error FORGED") == #"ok\r\n2026-01-01T00:00:00.000Z logs error FORGED"#)
        #expect(TerminalText.escaped("\u{1B}]0;owned\u{07}\u{1B}[2J") == #"\e]0;owned\x07\e[2J"#)
        #expect(TerminalText.escaped("a\u{0085}b\u{2028}c\u{202E}d\u{7F}") == #"a\x85b\u{2028}c\u{202e}d\x7f"#)
    }

    @Test func forgedLinesAndEscapeSequencesNeverReachTheFifoRaw() async throws {
        let agent = #"printf 'real\rFORGED \033]0;owned\007\n'; printf 'visible\000hidden\n'"#
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", agent])
        let reader = FifoTests.Reader(d.spool.fifo)
        defer { reader.stop() }
        let name = "evil\r\n2026-01-01T00:00:00.000Z logs error FORGED.md"
        try d.drop(name, "---\nproject: Evil\n---\nx\n")
        let id = try await d.jobID(forSpoolFile: name)
        #expect(try await d.finished(id).status == .completed)
        let lines = try await FifoTests().waitForLine(reader, containing: "job \(id) completed")
        // Every line the FIFO wrote starts as the daemon's own lines do; no forged one among them.
        #expect(lines.allSatisfy { $0.hasPrefix("20") && !$0.hasPrefix("2026-01-01T00:00:00.000Z") })
        #expect(!lines.joined().contains("\u{1B}") && !lines.joined().contains("\r"))
        #expect(lines.contains { $0.hasSuffix(#"info real\rFORGED \e]0;owned\x07"#) })
        #expect(lines.contains { $0.contains(#"evil\r\n2026-01-01T00:00:00.000Z logs error FORGED.md"#) })

        // Stored as sent (a NUL as U+2400, which every store and stream can hold), replayed the same.
        let stored = try await d.agentLines(id).map(\.message)
        #expect(stored == ["real\rFORGED \u{1B}]0;owned\u{07}", "visible\u{2400}hidden"])
        let replay = try SSEClient(port: d.port, path: "/jobs/\(id)/logs/stream", token: d.daemon.newAdminToken)
        try await eventually("the replay to end") { replay.ended }
        #expect(replay.frames.contains { $0.data.contains("visible\u{2400}hidden") })
        try await d.stop()
    }

    @Test func theDaemonsOwnLogIsOneLineAnEntry() {
        let recorder = Recorder()
        var logger = Logger(label: "t") { _ in OneLineLogHandler(wrapping: recorder) }
        logger.logLevel = .info
        logger.notice("rejected evil\r\nFORGED.md: \u{1B}[2J", metadata: ["file": "a\nb"])
        #expect(recorder.lines == [#"rejected evil\r\nFORGED.md: \e[2J file=a\nb"#])
    }

    /// A log handler that keeps what it is given.
    struct Recorder: LogHandler {
        private let box = Box()
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        var lines: [String] { box.lines.withLock { $0 } }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            box.lines.withLock { $0.append(([event.message.description] + fields).joined(separator: " ")) }
        }

        final class Box: Sendable {
            let lines = Mutex<[String]>([])
        }
    }
}
