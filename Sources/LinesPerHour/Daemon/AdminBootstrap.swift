import Foundation
import Glibc

/// The first start: an admin user, and its token in `<state>/admin.token`,
/// readable by the owner only.
enum AdminBootstrap {
    static func ensureAdmin(store: Store, settings: Settings) throws -> String? {
        let created = try store.pool.write { db -> String? in
            guard try !UserWrites.hasAdmin(db) else { return nil }
            return try UserWrites.create(db, email: settings.adminEmail, role: .admin, credits: settings.adminCredits).1
        }
        guard let token = created else { return nil }
        try write(token, to: tokenPath(settings))
        return token
    }

    static func tokenPath(_ settings: Settings) -> String {
        settings.stateDirectory + "/admin.token"
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
