/// Why the store did not take a write or answer a read: nothing of the write was stored.
enum StoreError: Error, CustomStringConvertible {
    case writerStopped
    /// The database refused (a full disk, a broken file).
    case refused(String)

    var description: String {
        switch self {
        case .writerStopped: "the database writer has stopped"
        case .refused(let why): "the database refuses writes now, nothing was stored; try again later: \(why)"
        }
    }
}
