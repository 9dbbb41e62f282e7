import Foundation
import Glibc

/// The spool's folders and the file operations on them. It trusts nothing it
/// reads: files are opened without following symlinks and without blocking
/// on FIFOs, checked with `fstat`, and read up to the size limit only.
public struct Spool: Sendable {
    public let root: String
    public var incoming: String { root + "/incoming" }
    public var accepted: String { root + "/accepted" }
    public var rejected: String { root + "/rejected" }
    public var fifo: String { root + "/events.fifo" }

    public init(root: String) {
        self.root = root
    }

    /// `incoming/` is left to the operator (other users may be meant to drop files there);
    /// the records of what was accepted and rejected are the daemon's, private.
    public func prepare() throws {
        try FileManager.default.createDirectory(atPath: incoming, withIntermediateDirectories: true)
        try PrivateFile.folder(accepted)
        try PrivateFile.folder(rejected)
    }

    /// A file taken from `incoming/`: its bytes and the inode that identifies
    /// it across a crash.
    public struct Taken: Sendable {
        public var bytes: [UInt8]
        public var inode: UInt64
    }

    public enum ReadOutcome: Sendable {
        case taken(Taken)
        case vanished
        /// Someone still has it open for writing; their close brings it back.
        case busy
        case refused(Rejection)
    }

    public func read(_ name: String) -> ReadOutcome {
        do {
            return try RegularFile.withOpened(incoming + "/" + name, readWhole)
        } catch RegularFile.Failure.system(ENOENT) {
            return .vanished
        } catch RegularFile.Failure.system(ELOOP) {
            return .refused(Rejection("a symlink, not a regular file"))
        } catch RegularFile.Failure.system(let err) {
            return .refused(Rejection("cannot open: \(String(cString: strerror(err)))"))
        } catch {
            return .refused(Rejection("not a regular file"))
        }
    }

    /// Reads a job file once no one writes to it any more.
    private func readWhole(_ fd: Int32, _ st: stat) -> ReadOutcome {
        // A read lease is refused while any process has the file open for writing:
        // the one sure sign, which a close event alone is not, that it is complete.
        // It is held until the file is read: a writer that opens the file meanwhile
        // waits for its release (the kernel's lease break), so what is read is whole.
        let leased = fcntl(fd, F_SETLEASE, F_RDLCK) == 0
        if !leased && errno == EAGAIN { return .busy }
        defer { if leased { _ = fcntl(fd, F_SETLEASE, F_UNLCK) } }
        // An empty file (`touch`, or made before it is written) is not a submission yet.
        guard st.st_size > 0 else { return .busy }
        guard st.st_size <= Limits.maxSpecification else {
            return .refused(Rejection("file is larger than 1 MiB (\(st.st_size) bytes)"))
        }
        guard let bytes = RegularFile.bytes(of: fd, upTo: Limits.maxSpecification + 1) else {
            return .refused(Rejection("cannot read: \(String(cString: strerror(errno)))"))
        }
        return .taken(Taken(bytes: bytes, inode: UInt64(st.st_ino)))
    }

    /// The inode of `incoming/<name>`, if it is there.
    func inode(of name: String) -> UInt64? {
        var st = stat()
        return lstat(incoming + "/" + name, &st) == 0 ? UInt64(st.st_ino) : nil
    }

    enum EntryKind {
        case file, emptyFile, other, gone
    }

    /// What `incoming/<name>` is, without following a symlink.
    func kind(of name: String) -> EntryKind {
        var st = stat()
        guard lstat(incoming + "/" + name, &st) == 0 else { return .gone }
        guard st.st_mode & S_IFMT == S_IFREG else { return .other }
        return st.st_size == 0 ? .emptyFile : .file
    }

    /// `<job>-<name>`, shortened to a name the file system takes (255 bytes):
    /// the job's row keeps the original name.
    public static func acceptedName(job: Int64, name: String) -> String {
        let prefix = "\(job)-"
        return prefix + fitting(name, bytes: Int(NAME_MAX) - prefix.utf8.count)
    }

    /// `name`, or, when it is longer than `bytes`, its start, "…" and its extension,
    /// cut between characters.
    static func fitting(_ name: String, bytes: Int) -> String {
        guard name.utf8.count > bytes else { return name }
        let dot = name.lastIndex(of: ".").map { name[$0...] }
        let ext = dot.map(String.init).flatMap { $0.utf8.count <= 16 ? $0 : nil } ?? ""
        var stem = ""
        let budget = bytes - ext.utf8.count - "…".utf8.count
        for character in name {
            guard stem.utf8.count + character.utf8.count <= budget else { break }
            stem.append(character)
        }
        return stem + "…" + ext
    }

    /// Moves `incoming/<name>` to `accepted/<job>-<name>`.
    func file(_ name: String, job: Int64) throws {
        try rename(incoming + "/" + name, to: accepted + "/" + Self.acceptedName(job: job, name: name))
    }

    /// Writes `accepted/<job>-api.json`: the record of a job that came without a file.
    func record(_ request: JobRequest, job: Int64) {
        try? PrivateFile.write(request.jobFile, to: accepted + "/" + Self.acceptedName(job: job, name: "api.json"))
    }

    func isFiled(_ name: String, job: Int64) -> Bool {
        access(accepted + "/" + Self.acceptedName(job: job, name: name), F_OK) == 0
    }

    /// Writes the reason beside the file's new place in `rejected/`, then
    /// moves it there. A name already taken in `rejected/` gets a numeric
    /// suffix, so no earlier rejected file is ever overwritten.
    func reject(_ name: String, _ rejection: Rejection) throws -> String {
        // Room beside the name for ".error", a numeric suffix and a temporary ".tmp".
        let base = Self.fitting(name, bytes: Int(NAME_MAX) - 24)
        var target = base
        var n = 1
        while exists(rejected + "/" + target) || exists(rejected + "/" + target + ".error") {
            target = "\(base).\(n)"
            n += 1
        }
        let reason = rejection.reason.replacingOccurrences(of: "\n", with: " ") + "\n"
        try PrivateFile.write(reason.utf8, to: rejected + "/" + target + ".error")
        try rename(incoming + "/" + name, to: rejected + "/" + target)
        return target
    }

    /// Files waiting in `incoming/`, oldest first.
    func waiting() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: incoming)) ?? []
        return names.filter { !JobFile.isIgnored($0) }
            .map { name -> (String, Int, Int) in
                var st = stat()
                lstat(incoming + "/" + name, &st)
                return (name, st.st_mtim.tv_sec, st.st_mtim.tv_nsec)
            }
            .sorted { ($0.1, $0.2, $0.0) < ($1.1, $1.2, $1.0) }
            .map(\.0)
    }

    private func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    private func rename(_ from: String, to: String) throws {
        guard Glibc.rename(from, to) == 0 else {
            throw DaemonError("cannot move \(from) to \(to): \(String(cString: strerror(errno)))")
        }
    }
}

/// `F_SETLEASE` from Linux's `<fcntl.h>` (F_LINUX_SPECIFIC_BASE + 0), which
/// Glibc hides from Swift without `_GNU_SOURCE`.
private let F_SETLEASE: Int32 = 1024
