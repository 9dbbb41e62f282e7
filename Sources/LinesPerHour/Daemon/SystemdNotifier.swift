import Glibc
import ServiceLifecycle

/// Tells systemd how the daemon is doing (a `Type=notify` unit), as
/// `sd_notify(3)` does but without linking libsystemd: one datagram to the
/// socket `$NOTIFY_SOCKET` names. `READY=1` once HTTP answers, `WATCHDOG=1`
/// every half watchdog period while the daemon runs, `STOPPING=1` when it stops.
final class SystemdNotifier: Service, Sendable {
    private let socketPath: String
    private let watchdog: Duration?

    init(socket: String, watchdog: Duration?) {
        socketPath = socket
        self.watchdog = watchdog
    }

    func run() async throws {
        if let watchdog {
            await periodically(every: watchdog / 2) { [self] in send("WATCHDOG=1") }
        } else {
            try? await gracefulShutdown()
        }
        send("STOPPING=1")
    }

    /// Sends one state line; a socket that is gone is systemd's affair, never the daemon's.
    func send(_ state: String) {
        var path = Array(socketPath.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }  // the abstract namespace
        var address = sockaddr_un()
        guard !path.isEmpty, path.count < MemoryLayout.size(ofValue: address.sun_path) else { return }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(state.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes, bytes.count, 0, $0, length) }
        }
    }
}
