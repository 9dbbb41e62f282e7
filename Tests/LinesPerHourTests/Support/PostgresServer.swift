import Foundation
import Synchronization

/// A real PostgreSQL server for the tests, one per test process: started on
/// first use in a temporary folder on a free port of 127.0.0.1, stopped and
/// removed when the process exits. Each test takes a database of its own
/// (`makeDatabase()`), so tests running side by side never see each other's rows.
///
/// The server programs refuse to run as root (initdb does), so under root (CI,
/// containers) they run as the `postgres` user that Debian's package creates.
final class PostgresServer: Sendable {
    let port: Int
    /// The server's temporary folder: its data, its socket and its log.
    let folder: String
    /// Where `initdb`, `pg_ctl` and `createdb` are.
    private let programs: String
    /// What runs a server program as the `postgres` user (`runuser`), or nothing when we are not root.
    private let runAs: [String]
    private let databases = Mutex(0)

    private var dataFolder: String { folder + "/data" }
    private var logFile: String { folder + "/pg.log" }

    /// The process's server, or why it could not start: a failure is kept, so
    /// every later test fails at once with the same message instead of trying again.
    private static let started = Mutex<Result<PostgresServer, any Error>?>(nil)

    /// The test process's server, started by the first caller; callers
    /// meanwhile wait for it. Starting takes a second or two of blocking work:
    /// from an async test, call it through `offThePool` (or use `newDatabase()`).
    static func shared() throws -> PostgresServer {
        try started.withLock { state in
            if state == nil {
                atexit { PostgresServer.stopAtExit() }
                state = Result { try PostgresServer() }
            }
            return try state!.get()
        }
    }

    /// A fresh database on the shared server, made off the cooperative pool:
    /// starting the server and `createdb` block their thread.
    static func newDatabase() async throws -> String {
        try await offThePool { try shared().makeDatabase() }
    }

    private init() throws {
        let user = try PostgresServer.serverUser()
        programs = try PostgresServer.programFolder()
        if user != nil {
            runAs = try [PostgresServer.runuser(), "-u", "postgres", "--"]
        } else {
            runAs = []
        }
        port = try freeLoopbackPort()
        folder = try PostgresServer.makeFolder(owner: user)
        do {
            try initialize()
            try start()
        } catch {
            stopNow()
            throw error
        }
    }

    /// Creates a new, empty database and answers its URL, e.g.
    /// `postgres://postgres@127.0.0.1:PORT/lph_test_3_4242`.
    func makeDatabase() throws -> String {
        let number = databases.withLock { count in
            count += 1
            return count
        }
        let name = "lph_test_\(number)_\(getpid())"
        // A client program: it runs as whoever we are; `-w`: never ask for a password.
        try check("createdb \(name)", run("createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-w", name],
                                          asServerUser: false))
        return "postgres://postgres@127.0.0.1:\(port)/\(name)"
    }

    // MARK: - Starting

    /// Creates the cluster: trust for every connection (a test server, on
    /// loopback only), the `postgres` superuser, UTF-8 without a locale, no
    /// syncing of the new files to disk.
    private func initialize() throws {
        try check("initdb", run("initdb", ["-D", dataFolder, "-A", "trust", "-U", "postgres",
                                           "-E", "UTF8", "--no-locale", "--no-sync"]))
    }

    /// Starts the server and waits until it accepts connections. Durability is
    /// off: a test server's data need not survive a crash.
    private func start() throws {
        let options = "-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 -c fsync=off"
            + " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        try check("pg_ctl start", run("pg_ctl", ["-D", dataFolder, "-o", options, "-l", logFile, "-w", "start"]))
    }

    /// The `postgres` user's ids when we are root, whom the server runs as; nil otherwise.
    private static func serverUser() throws -> (uid: uid_t, gid: gid_t)? {
        guard getuid() == 0 else { return nil }
        guard let entry = getpwnam("postgres") else {
            throw PostgresFailure("running as root, but there is no `postgres` user to run the server as: run scripts/install-deps.sh")
        }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    /// The folder of `initdb`, `pg_ctl` and `createdb`: the one of an `initdb`
    /// on PATH (a symbolic link is followed), else the newest of Debian's
    /// `/usr/lib/postgresql/<version>/bin`, which Debian keeps off PATH.
    private static func programFolder() throws -> String {
        let onPath = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
            .map { URL(fileURLWithPath: String($0) + "/initdb").resolvingSymlinksInPath().deletingLastPathComponent().path }
        let debian = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .sorted { (Double($0) ?? 0) > (Double($1) ?? 0) }
            .map { "/usr/lib/postgresql/\($0)/bin" }
        let found = (onPath + debian).first { folder in
            ["initdb", "pg_ctl", "createdb"].allSatisfy { FileManager.default.isExecutableFile(atPath: folder + "/" + $0) }
        }
        guard let found else {
            throw PostgresFailure("no PostgreSQL server programs (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin: run scripts/install-deps.sh")
        }
        return found
    }

    /// `runuser`, which starts a program as another user without a password (for root only).
    private static func runuser() throws -> String {
        let candidates = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw PostgresFailure("running as root, but there is no runuser to run the server as `postgres`")
        }
        return path
    }

    /// A new folder under /tmp, given to `owner` when there is one. Not under
    /// TMPDIR: the `postgres` user must reach it, and the socket's path in it
    /// must stay under 108 bytes.
    private static func makeFolder(owner: (uid: uid_t, gid: gid_t)?) throws -> String {
        var template = Array("/tmp/lph-pg.XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw PostgresFailure("cannot create a folder under /tmp: \(String(cString: strerror(errno)))")
        }
        let folder = String(decoding: template.prefix { $0 != 0 }.map(UInt8.init(bitPattern:)), as: UTF8.self)
        if let owner, chown(folder, owner.uid, owner.gid) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: folder)
            throw PostgresFailure("cannot give \(folder) to the postgres user: \(reason)")
        }
        return folder
    }

    // MARK: - Running programs

    /// Runs one of PostgreSQL's programs to its end and answers its exit
    /// status and error output (its other output is only progress). Server
    /// programs run as `postgres` when we are root. With `posix_spawn` and
    /// `waitpid`, not Foundation's `Process`, whose wait was seen to hang for
    /// good on a `runuser` that had exited (`pg_ctl start` leaves a server behind it).
    private func run(_ program: String, _ arguments: [String], asServerUser: Bool = true) throws -> (status: Int32, errors: String) {
        // The postgres user cannot enter most folders (root's home, the checkout): it starts in its own.
        let command = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", folder] + (asServerUser ? runAs : []) + [programs + "/" + program] + arguments
        let errorFile = folder + "/\(program).stderr"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, errorFile, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var pid: pid_t = 0
        let argv = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, environ)
        guard spawned == 0 else { throw PostgresFailure("cannot run \(command[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let errors = (try? String(contentsOfFile: errorFile, encoding: .utf8)) ?? ""
        // WIFEXITED / WEXITSTATUS, which do not import into Swift.
        return ((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f), errors)
    }

    /// Throws, naming the step, its error output and the server log's last lines, unless it succeeded.
    private func check(_ step: String, _ result: (status: Int32, errors: String)) throws {
        guard result.status != 0 else { return }
        throw PostgresFailure("""
            PostgreSQL: \(step) failed (exit status \(result.status)): \(result.errors.trimmingCharacters(in: .whitespacesAndNewlines))
            server log, last lines:
            \(logTail())
            """)
    }

    private func logTail(lines: Int = 20) -> String {
        guard let log = try? String(contentsOfFile: logFile, encoding: .utf8) else { return "(no server log)" }
        return log.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    // MARK: - Stopping

    /// Runs from `atexit`. It must not wait for the lock: a thread still
    /// starting the server holds it, and then the folder is left behind.
    private static func stopAtExit() {
        let server = started.withLockIfAvailable { state in try? state?.get() }
        (server ?? nil)?.stopNow()
    }

    /// Stops the server at once (no checkpoint: its data is thrown away) and
    /// removes its folder. With plain `system` rather than `Process`: this runs
    /// from `atexit`, while the process is going away around it.
    private func stopNow() {
        let stop = runAs + [programs + "/pg_ctl", "-D", dataFolder, "-m", "immediate", "stop"]
        _ = system(stop.map(shellQuoted).joined(separator: " ") + " >/dev/null 2>&1")
        try? FileManager.default.removeItem(atPath: folder)
    }
}

struct PostgresFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }
}

/// A port of 127.0.0.1 nothing listens on now: the one the kernel gives a
/// socket bound to port 0, which is closed again.
func freeLoopbackPort() throws -> Int {
    let (fd, port) = try boundLoopbackSocket()
    close(fd)
    return port
}

/// A TCP socket bound to a port of 127.0.0.1 the kernel picks, and that port.
func boundLoopbackSocket() throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw PostgresFailure("cannot open a socket: \(String(cString: strerror(errno)))") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else {
        let reason = String(cString: strerror(errno))
        close(fd)
        throw PostgresFailure("cannot bind a socket to 127.0.0.1: \(reason)")
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

/// `text` as one word for /bin/sh.
private func shellQuoted(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
}
