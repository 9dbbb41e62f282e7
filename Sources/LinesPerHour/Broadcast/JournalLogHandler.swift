import Glibc
import Logging

/// The daemon's log for journald, which systemd connects standard error to
/// (and says so in `$JOURNAL_STREAM`): one line an entry, led by its priority
/// as journald reads it (`<3>` an error, `<6>` information), without a time
/// (journald keeps its own), so `journalctl -p warning` finds what matters.
/// Wrap it in ``OneLineLogHandler`` to escape what it writes.
public struct JournalLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String

    public init(label: String) {
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let fields = metadata.merging(event.metadata ?? [:]) { $1 }
        let details = fields.keys.sorted().map { " \($0)=\(fields[$0]!)" }.joined()
        let line = Array("<\(Self.priority(event.level))>\(label): \(event.message)\(details)\n".utf8)
        _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }  // one write: lines never interleave
    }

    /// syslog's priorities, which journald takes from a line's `<N>`.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
