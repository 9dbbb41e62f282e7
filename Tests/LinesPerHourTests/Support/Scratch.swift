import Foundation
@testable import LinesPerHour

/// A fresh temporary folder per test, removed when the test ends.
final class Scratch: @unchecked Sendable {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "lph-test.XXXXXX").utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw CocoaError(.fileWriteUnknown)
        }
        path = URL(fileURLWithPath: String(decoding: template.prefix { $0 != 0 }.map(UInt8.init(bitPattern:)), as: UTF8.self)).resolvingSymlinksInPath().path
    }

    deinit {
        Self.remove(AT_FDCWD, path)
    }

    /// `rm -rf` by names relative to an open folder. `FileManager.removeItem`
    /// stopped at the first entry that vanished meanwhile (SQLite deletes its
    /// -wal and -shm as the daemon's last connection closes) and at paths longer
    /// than PATH_MAX, leaving the rest of the folder in /tmp.
    private static func remove(_ parent: Int32, _ name: String) {
        if unlinkat(parent, name, 0) == 0 || errno == ENOENT { return }
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return }
        guard let folder = fdopendir(fd) else {
            close(fd)
            return
        }
        var names: [String] = []
        while let entry = readdir(folder) {
            let entryName = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
            if entryName != "." && entryName != ".." { names.append(entryName) }
        }
        for entryName in names { remove(fd, entryName) }
        closedir(folder)
        unlinkat(parent, name, AT_REMOVEDIR)
    }

    func file(_ relative: String) -> String { path + "/" + relative }

    /// Writes an executable shell script and returns its path.
    func script(_ name: String, _ body: String) throws -> String {
        let p = file(name)
        try ("#!/bin/sh\n" + body + "\n").write(toFile: p, atomically: true, encoding: .utf8)
        chmod(p, 0o755)
        return p
    }
}

/// Waits until `condition` holds, checking often, failing after a generous
/// deadline: tests wait for the event, never for a fixed time.
func eventually(_ what: String, timeout: Duration = .seconds(60),
                _ condition: () async throws -> Bool) async throws {
    // Conditions read folders and databases: on a thread of their own, never
    // on the cooperative pool that the daemons under test run on.
    try await DedicatedThread.run(named: "test-eventually") {
        let deadline = ContinuousClock.now + timeout
        while true {
            if try await condition() { return }
            guard ContinuousClock.now < deadline else { throw TimedOut(what: what) }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// Runs blocking test work (a burst of files, a command line that waits for
/// its process) on a thread of its own: on the cooperative pool (two threads
/// here) it would stall every daemon in the test process while it runs.
func offThePool<T: Sendable>(_ body: () throws -> T) async throws -> T {
    try await DedicatedThread.run(named: "test-blocking") { try body() }
}

/// Writes a file with plain system calls: Foundation's writer syncs each file
/// to disk, which turns a burst of 20,000 files into minutes.
func writeFile(_ path: String, _ text: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    precondition(fd >= 0, "cannot create \(path)")
    defer { close(fd) }
    _ = text.withCString { write(fd, $0, strlen($0)) }
}

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// The package's own `lph` binary, built by `swift test` with the tests.
let lphBinary: String = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    let candidates = [".build/debug/lph", ".build/release/lph"].map { root.appendingPathComponent($0).path }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
}()
