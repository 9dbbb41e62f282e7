import Glibc

/// Files and folders the daemon makes for itself, readable by its own user
/// only, whatever the umask: the database, the specifications handed to
/// agents, the records of accepted and rejected job files.
enum PrivateFile {
    /// Writes `bytes` to `path` through a temporary name and a rename, mode
    /// 0600, never through a symlink put there.
    static func write(_ bytes: some Collection<UInt8>, to path: String) throws {
        let temporary = path + ".tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("create", temporary) }
        let written = Array(bytes).withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                offset += n
            }
            return true
        }
        let error = written ? nil : failure("write", temporary)
        close(fd)
        if let error {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else { throw failure("rename", temporary) }
    }

    /// Makes `path` (and missing parents) as a folder, and makes it 0700.
    static func folder(_ path: String) throws {
        var partial = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, 0o700) != 0 && errno != EEXIST { throw failure("create the folder", partial) }
        }
        guard chmod(path, 0o700) == 0 else { throw failure("make private", path) }
    }

    /// Makes an existing file 0600 (a database made by an earlier version under a looser umask).
    static func restrict(_ path: String) throws {
        guard chmod(path, 0o600) == 0 || errno == ENOENT else { throw failure("make private", path) }
    }

    /// The contents of a secret the operator wrote (a webhook key): a regular
    /// file no one else may read, else a clear refusal.
    static func readSecret(_ path: String) throws -> [UInt8] {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw DaemonError("cannot read the secret \(path): \(String(cString: strerror(errno)))") }
        guard st.st_mode & S_IFMT == S_IFREG else { throw DaemonError("\(path) is not a regular file; refusing to use it as a secret") }
        guard st.st_mode & 0o077 == 0 else {
            throw DaemonError("\(path) can be read by others (mode \(String(st.st_mode & 0o777, radix: 8))); a secret must be private: chmod 600 \(path)")
        }
        let bytes = try RegularFile.withOpened(path) { fd, _ in RegularFile.bytes(of: fd, upTo: 4096) } ?? []
        let secret = Array(bytes.prefix { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") })
        guard !secret.isEmpty else { throw DaemonError("the secret \(path) is empty") }
        return secret
    }

    private static func failure(_ what: String, _ path: String) -> DaemonError {
        DaemonError("cannot \(what) \(path): \(String(cString: strerror(errno)))")
    }
}
