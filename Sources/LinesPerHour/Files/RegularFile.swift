import Glibc

/// Opening a file to read it, the one way every reader here does it: never
/// through a symlink (one swapped in after a `stat` is refused, not followed),
/// never blocking on a FIFO, and checked on the descriptor itself to be a
/// regular file.
enum RegularFile {
    enum Failure: Error {
        /// `open` or `fstat` failed with this `errno` (`ELOOP`: a symlink).
        case system(Int32)
        /// A FIFO, a socket, a device or a folder.
        case notRegular
    }

    /// Runs `body` with the descriptor and status of the regular file at
    /// `path`, opened read-only, and closes it after.
    static func withOpened<T>(_ path: String, _ body: (_ descriptor: Int32, _ status: stat) throws -> T) throws -> T {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Failure.system(errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw Failure.system(errno) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw Failure.notRegular }
        return try body(fd, st)
    }

    /// Reads on from the descriptor's position, handing each chunk to `chunk`
    /// until the end or until it returns false; false on a read error.
    @discardableResult
    static func forEachChunk(of descriptor: Int32, _ chunk: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { return false }
            guard n > 0, buffer.withUnsafeBytes({ chunk(UnsafeRawBufferPointer(rebasing: $0[..<n])) }) else { return true }
        }
    }

    /// The descriptor's bytes from its position, `limit` at most; nil on a read error.
    static func bytes(of descriptor: Int32, upTo limit: Int) -> [UInt8]? {
        var bytes: [UInt8] = []
        let read = forEachChunk(of: descriptor) { chunk in
            bytes += chunk.prefix(limit - bytes.count)
            return bytes.count < limit
        }
        return read ? bytes : nil
    }
}
