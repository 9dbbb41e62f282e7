import CGit2
import Foundation

/// The daemon's own git repository for one project: a bare repository under
/// the state folder whose work tree is the project folder.
///
/// What a job wrote is a diff between two snapshots of the project (its files
/// as trees in this repository: at the job's start and at its end), made by
/// libgit2, with the project's own `.gitignore` files and the defaults a user
/// expects. The project's own `.git` is never read nor written: agents and
/// Spec Kit commit and branch there, and it is ignored like `node_modules/`.
///
/// The index is kept on disk between snapshots as a stat cache, so a snapshot
/// of an unchanged tree reads no file (5,000 files: about 0.1 s). Not thread
/// safe: each object is used by one thread at a time (a lane of the
/// ``ChangeTracker``, or ``IgnoreRules``); one project may have several, and
/// each reads the index again when another has written it (libgit2 compares
/// the checksum on disk with its own).
final class ShadowRepository {
    /// Dependency trees and build output: not counted, and not watched nor indexed either (``IgnoreRules``).
    static let dependencyFolders = ["node_modules", ".venv", "venv", "__pycache__", "target", "build", "dist", ".next", "vendor", ".git"]
    /// Agents' tool state: watched and indexed (Spec Kit's run logs give a job's phases), never counted.
    static let toolStateFolders = [".specify", ".claude", ".lph"]
    /// Ignored besides the project's own rules.
    static let defaultIgnores = (dependencyFolders + toolStateFolders).map { $0 + "/" } + [ProjectName.cookiePrefix + "*"]
    /// Files larger than this are left out of snapshots (and so never counted).
    static let maxFileSize: Int64 = 50 << 20

    private let repository: OpaquePointer

    /// Opens the shadow repository at `path`, made on first use, over the project folder `workTree`.
    init(at path: String, workTree: String) throws {
        _ = Self.libraryStarted
        if access(path, F_OK) != 0 { try Self.create(at: path) }
        var repository: OpaquePointer?
        try Self.check(git_repository_open_bare(&repository, path))
        self.repository = repository!
        // 0: no `.git` link file is written into the project.
        try Self.check(git_repository_set_workdir(repository, workTree, 0))
        try Self.check(git_ignore_add_rule(repository, Self.defaultIgnores.joined(separator: "\n")))
    }

    deinit {
        git_repository_free(repository)
    }

    private static let libraryStarted: Void = {
        git_libgit2_init()
        // The user's own git configuration (a global excludes file, say) must not change what a job is charged.
        for level in [GIT_CONFIG_LEVEL_GLOBAL, GIT_CONFIG_LEVEL_XDG, GIT_CONFIG_LEVEL_SYSTEM] {
            _ = lph_git_clear_config_search_path(level.rawValue)
        }
    }()

    /// Makes the repository in a folder of its own, then renames it into
    /// place: a crash never leaves a half-made repository at `path`, and of
    /// two threads making the same one (the tracker's and the ignore rules'),
    /// the second's rename fails and its copy is dropped.
    private static func create(at path: String) throws {
        var template = Array((path + ".new-XXXXXX").utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            let failure = errno
            throw DaemonError("cannot make a shadow repository next to \(path): \(String(cString: strerror(failure)))")
        }
        let made = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        do {
            try initialize(at: made)
        } catch {
            try? FileManager.default.removeItem(atPath: made)
            throw error
        }
        if rename(made, path) != 0 {
            let failure = errno
            try? FileManager.default.removeItem(atPath: made)
            guard failure == EEXIST || failure == ENOTEMPTY else {
                throw DaemonError("cannot make the shadow repository \(path): \(String(cString: strerror(failure)))")
            }
        }
    }

    /// Removes the folders of repositories a crash left half made (``create(at:)``);
    /// called at start, before anything makes one.
    static func removeUnfinished(in shadows: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: shadows)) ?? []
        for name in names where name.contains(".git.new-") {
            try? FileManager.default.removeItem(atPath: shadows + "/" + name)
        }
    }

    /// A bare repository with as few files as libgit2 allows: a project seen
    /// for the first time waits for it before its job's agent starts.
    private static func initialize(at path: String) throws {
        var options = git_repository_init_options()
        try check(git_repository_init_options_init(&options, UInt32(GIT_REPOSITORY_INIT_OPTIONS_VERSION)))
        // An empty external template: no sample hook, description or exclude file.
        options.flags = UInt32(GIT_REPOSITORY_INIT_BARE.rawValue | GIT_REPOSITORY_INIT_EXTERNAL_TEMPLATE.rawValue)
        var repository: OpaquePointer?
        try "".withCString { noTemplate in
            options.template_path = noTemplate
            try check(git_repository_init_ext(&repository, path, &options))
        }
        defer { git_repository_free(repository) }
        try configure(repository)
        try FileManager.default.createDirectory(atPath: path + "/info", withIntermediateDirectories: true)
        try PrivateFile.write("* -text -eol -ident -filter -working-tree-encoding\n".utf8, to: path + "/info/attributes")
    }

    /// The bytes as they are on disk: no line-ending or keyword rewriting,
    /// whatever the project's attributes say. Set under one lock: the four
    /// settings rewrite the configuration file once, not four times.
    private static func configure(_ repository: OpaquePointer?) throws {
        var config: OpaquePointer?
        try check(git_repository_config(&config, repository))
        defer { git_config_free(config) }
        var transaction: OpaquePointer?
        try check(git_config_lock(&transaction, config))
        defer { git_transaction_free(transaction) }
        try check(git_config_set_bool(config, "core.autocrlf", 0))
        try check(git_config_set_string(config, "core.safecrlf", "false"))
        try check(git_config_set_bool(config, "core.filemode", 1))
        try check(git_config_set_bool(config, "core.symlinks", 1))
        try check(git_transaction_commit(transaction))
    }

    // MARK: - Snapshots

    /// The project's files now, as a tree; returns its id.
    func snapshot() throws -> String {
        var index: OpaquePointer?
        try Self.check(git_repository_index(&index, repository))
        defer { git_index_free(index) }
        try Self.check(git_index_read(index, 0))
        let payload = UnsafeMutableRawPointer(repository)
        // Nested repositories (an agent's clone) are left out: add_all cannot take them.
        try Self.check(git_index_add_all(index, nil, GIT_INDEX_ADD_DEFAULT.rawValue, { path, _, payload in
            guard let path, let payload else { return 0 }
            let relative = String(cString: path)
            if relative.hasSuffix("/") { return 1 }
            let workdir = String(cString: git_repository_workdir(OpaquePointer(payload)))
            var st = stat()
            return lstat(workdir + relative, &st) == 0 && Int64(st.st_size) > ShadowRepository.maxFileSize ? 1 : 0
        }, payload))
        // Files tracked before a rule ignored them stay in the index: drop them.
        try Self.check(git_index_remove_all(index, nil, { path, _, payload in
            var ignored: Int32 = 0
            guard let path, let payload, git_ignore_path_is_ignored(&ignored, OpaquePointer(payload), path) == 0 else { return -1 }
            return ignored != 0 ? 0 : 1
        }, payload))
        try Self.check(git_index_write(index))
        var tree = git_oid()
        try Self.check(git_index_write_tree_to(&tree, index, repository))
        return Self.hex(tree)
    }

    /// Whether `folder` (relative to the project) is ignored.
    func isIgnored(folder: String) -> Bool {
        var ignored: Int32 = 0
        return git_ignore_path_is_ignored(&ignored, repository, folder.hasSuffix("/") ? folder : folder + "/") == 0 && ignored != 0
    }

    // MARK: - Diffs

    /// Each file that differs between two snapshots, renames found, binaries not counted.
    func changes(from start: String, to end: String) throws -> [FileChange] {
        try withDiff(from: start, to: end, renames: true) { diff in
            var changes: [FileChange] = []
            for i in 0..<git_diff_num_deltas(diff) {
                var patch: OpaquePointer?
                try Self.check(git_patch_from_diff(&patch, diff, i))
                defer { git_patch_free(patch) }
                // The binary flag is known only once the patch has loaded the contents.
                guard let delta = git_patch_get_delta(patch)?.pointee else { continue }
                var added = 0, removed = 0
                let binary = delta.flags & GIT_DIFF_FLAG_BINARY.rawValue != 0
                if !binary { try Self.check(git_patch_line_stats(nil, &added, &removed, patch)) }
                let path = String(cString: delta.new_file.path)
                let old = String(cString: delta.old_file.path)
                changes.append(FileChange(path: path, oldPath: old == path ? nil : old, kind: Self.kind(delta.status),
                                          linesAdded: Int64(added), linesRemoved: Int64(removed), binary: binary))
            }
            return changes
        }
    }

    /// A unified diff between two snapshots, as `git apply` takes it on the first.
    func patch(from start: String, to end: String) throws -> String {
        try withDiff(from: start, to: end, renames: true) { diff in
            var buffer = git_buf()
            try Self.check(git_diff_to_buf(&buffer, diff, GIT_DIFF_FORMAT_PATCH))
            defer { git_buf_dispose(&buffer) }
            return buffer.ptr.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: buffer.size), as: UTF8.self) } ?? ""
        }
    }

    /// Puts back, as they were in `start`, the files that differ between
    /// `start` and `end`: changed ones rewritten, added ones removed, removed ones restored.
    func revert(from start: String, to end: String) throws {
        let paths = try withDiff(from: start, to: end, renames: false) { diff in
            (0..<git_diff_num_deltas(diff)).flatMap { i -> [String] in
                guard let delta = git_diff_get_delta(diff, i)?.pointee else { return [] }
                return Array(Set([String(cString: delta.old_file.path), String(cString: delta.new_file.path)]))
            }
        }
        guard !paths.isEmpty else { return }
        let startTree = try tree(start), endTree = try tree(end)
        defer {
            git_tree_free(startTree)
            git_tree_free(endTree)
        }
        var options = git_checkout_options()
        try Self.check(git_checkout_options_init(&options, UInt32(GIT_CHECKOUT_OPTIONS_VERSION)))
        options.checkout_strategy = GIT_CHECKOUT_FORCE.rawValue | GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH.rawValue
            | GIT_CHECKOUT_DONT_UPDATE_INDEX.rawValue
        options.baseline = endTree
        var cStrings = paths.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        try cStrings.withUnsafeMutableBufferPointer { buffer in
            options.paths = git_strarray(strings: buffer.baseAddress, count: buffer.count)
            try Self.check(git_checkout_tree(repository, startTree, &options))
        }
    }

    private func withDiff<T>(from start: String, to end: String, renames: Bool, _ body: (OpaquePointer?) throws -> T) throws -> T {
        let startTree = try tree(start), endTree = try tree(end)
        defer {
            git_tree_free(startTree)
            git_tree_free(endTree)
        }
        var options = git_diff_options()
        try Self.check(git_diff_options_init(&options, UInt32(GIT_DIFF_OPTIONS_VERSION)))
        options.flags = GIT_DIFF_SHOW_BINARY.rawValue | GIT_DIFF_INCLUDE_TYPECHANGE.rawValue
        var diff: OpaquePointer?
        try Self.check(git_diff_tree_to_tree(&diff, repository, startTree, endTree, &options))
        defer { git_diff_free(diff) }
        if renames {
            var find = git_diff_find_options()
            try Self.check(git_diff_find_options_init(&find, UInt32(GIT_DIFF_FIND_OPTIONS_VERSION)))
            find.flags = GIT_DIFF_FIND_RENAMES.rawValue
            try Self.check(git_diff_find_similar(diff, &find))
        }
        return try body(diff)
    }

    private func tree(_ id: String) throws -> OpaquePointer? {
        var oid = git_oid()
        try Self.check(git_oid_fromstr(&oid, id))
        var tree: OpaquePointer?
        try Self.check(git_tree_lookup(&tree, repository, &oid))
        return tree
    }

    // MARK: - Helpers

    private static func kind(_ status: git_delta_t) -> FileChange.Kind {
        switch status {
        case GIT_DELTA_ADDED, GIT_DELTA_COPIED: .added
        case GIT_DELTA_DELETED: .deleted
        case GIT_DELTA_RENAMED: .renamed
        default: .modified
        }
    }

    private static func hex(_ oid: git_oid) -> String {
        var oid = oid
        var text = [CChar](repeating: 0, count: Int(GIT_OID_HEXSZ) + 1)
        git_oid_tostr(&text, text.count, &oid)
        return String(decoding: text.prefix(Int(GIT_OID_HEXSZ)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// libgit2's error for a failed call (read at once: the last error is per thread).
    static func check(_ code: Int32) throws {
        guard code < 0 else { return }
        let message = git_error_last().map { String(cString: $0.pointee.message) } ?? "error \(code)"
        throw DaemonError("git: \(message)")
    }
}
