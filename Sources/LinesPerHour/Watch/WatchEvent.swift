import CInotifyTools

/// One filesystem event, as a value.
struct WatchEvent: Sendable, Equatable {
    /// The watched directory the event happened in (no trailing slash).
    var directory: String
    /// The entry's name inside `directory`; empty for events on the directory itself.
    var name: String
    var mask: UInt32
    var cookie: UInt32
    /// For a rename inside the watched tree: the entry's old path. The event
    /// is then its `IN_MOVED_TO` half.
    var movedFrom: String?
    /// Set when folders under `directory` could not be watched (the watch
    /// limit, a permission): why. Changes there are only seen by a rescan.
    var unwatched: String?

    var path: String { name.isEmpty ? directory : directory + "/" + name }
    var isDirectory: Bool { mask & UInt32(IN_ISDIR) != 0 }
    var isOverflow: Bool { mask & UInt32(IN_Q_OVERFLOW) != 0 }
    func has(_ flag: Int32) -> Bool { mask & UInt32(flag) != 0 }

    static func unwatched(_ directory: String, _ failures: [DaemonError]) -> WatchEvent {
        let more = failures.count > 1 ? " (and \(failures.count - 1) more folders)" : ""
        return WatchEvent(directory: directory, name: "", mask: 0, cookie: 0, unwatched: failures[0].description + more)
    }
}
