import Foundation
import Testing
@testable import LinesPerHour

/// Files the daemon makes for itself are its user's alone, whatever the
/// umask: a neighbour on the machine reads no specification, no database, no
/// event.
@Suite struct PrivateFilesTests {
    func mode(_ path: String) -> mode_t? {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & 0o777 : nil
    }

    @Test func underAnOpenUmaskTheDaemonsFilesStayPrivate() async throws {
        let previous = umask(0o022)
        defer { umask(previous) }
        let d = try await TestDaemon(agent: ["/bin/sh", "-c", "echo written > out.txt"])
        try d.drop("Private.md", "secret plans")
        let id = try await d.jobID(forSpoolFile: "Private.md")
        _ = try await d.finished(id)
        try d.drop("bad name!.md", "x")
        _ = try await d.waitForRejection("bad name!.md")
        let api = try await RawHTTP.send(port: d.port, """
            POST /projects/Api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(d.daemon.newAdminToken!)\r\n\
            Content-Type: application/json\r\nContent-Length: 24\r\nConnection: close\r\n\r\n{"specification": "api"}
            """)
        #expect(api.status == 201)
        let apiJob = try #require(api.json["id"] as? Int)

        let database = d.daemon.settings.database
        let state = d.daemon.settings.stateDirectory
        for file in [database, database + "-wal", database + "-shm", d.spool.fifo, d.spool.rejected + "/bad name!.md.error",
                     d.spool.accepted + "/\(apiJob)-api.json", state + "/specs/job-\(id).md", state + "/admin.token"] {
            #expect(mode(file) == 0o600, "\(file)")
        }
        for folder in [d.spool.accepted, d.spool.rejected, state, state + "/specs"] {
            #expect(mode(folder) == 0o700, "\(folder)")
        }
        // The agent's own files keep the umask it was given: the project is the user's to share.
        #expect(mode(d.daemon.settings.projects + "/Private/out.txt") == 0o644)
        try await d.stop()
    }

    @Test func theFifoCanBeSharedWithAGroupByName() throws {
        let scratch = try Scratch()
        let fifo = scratch.file("events.fifo")
        #expect(mkfifo(fifo, 0o666) == 0)
        try FifoSink.create(at: fifo)
        #expect(mode(fifo) == 0o600, "an existing FIFO is made private too")
        let group = String(cString: getgrgid(getegid())!.pointee.gr_name)
        try FifoSink.create(at: fifo, group: group)
        #expect(mode(fifo) == 0o660)
        #expect(throws: DaemonError.self) { try FifoSink.create(at: fifo, group: "no-such-group-lph") }
    }
}
