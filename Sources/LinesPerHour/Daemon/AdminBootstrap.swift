import Foundation
import Glibc

/// The first start: an admin user, and its token in `<state>/admin.token`,
/// readable by the owner only. A later start refuses a token file that others
/// can read (or that is not a plain file): the admin token must stay private.
enum AdminBootstrap {
    static func ensureAdmin(store: any Store, settings: Settings) async throws -> String? {
        try checkPrivate(settings.adminTokenPath)
        guard let token = try await store.ensureAdmin(email: settings.adminEmail, credits: settings.adminCredits) else { return nil }
        try write(token, to: settings.adminTokenPath)
        return token
    }

    private static func checkPrivate(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }  // not written yet
        guard st.st_mode & S_IFMT == S_IFREG else { throw DaemonError("\(path) is not a regular file; refusing to use it") }
        guard st.st_mode & 0o077 == 0 else {
            let mode = String(st.st_mode & 0o777, radix: 8)
            throw DaemonError("\(path) can be read by others (mode \(mode)); the admin token must be private: chmod 600 \(path)")
        }
    }

    private static func write(_ token: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DaemonError("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        fchmod(fd, 0o600)
        let bytes = Array((token + "\n").utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else {
            throw DaemonError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}
