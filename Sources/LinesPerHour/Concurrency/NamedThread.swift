import Foundation
import Glibc

/// Starts a thread that names itself, so `top -H`, `perf` and `/proc` tell
/// the daemon's stages apart. Foundation's `Thread.name`, set before
/// `start()`, renamed the calling thread on Linux instead (the main thread
/// showed as "lph-writer", each stage's thread as the dispatch worker that
/// made it).
enum NamedThread {
    static func start(_ name: String, _ body: @escaping @Sendable () -> Void) {
        Thread {
            nameThisThread(name)
            body()
        }.start()
    }

    /// Through `/proc` (proc(5)): `pthread_setname_np` is not visible to Swift here.
    private static func nameThisThread(_ name: String) {
        let file = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard file >= 0 else { return }
        defer { close(file) }
        // The kernel keeps 15 bytes of a thread's name.
        let bytes = Array(name.utf8.prefix(15))
        _ = write(file, bytes, bytes.count)
    }
}
