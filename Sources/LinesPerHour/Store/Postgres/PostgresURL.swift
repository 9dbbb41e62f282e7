import Foundation
import NIOSSL
import PostgresNIO

/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=…]` as a client
/// configuration. The password may also come from `PGPASSWORD`, as libpq's
/// programs take it; `sslmode` means what it means to libpq: `disable`,
/// `prefer` (the default: TLS when the server offers it, unverified),
/// `require` (TLS, unverified) or `verify-full`.
enum PostgresURL {
    /// Whether `--db` names PostgreSQL (else it is an SQLite file's path).
    static func isPostgres(_ database: String) -> Bool {
        database.hasPrefix("postgres://") || database.hasPrefix("postgresql://")
    }

    static func configuration(_ url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> PostgresClient.Configuration {
        guard let parts = URLComponents(string: url), let host = parts.host, !host.isEmpty, let user = parts.user else {
            throw DaemonError("--db \(redacted(url)): expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        }
        let database = String(parts.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw DaemonError("--db \(redacted(url)): the URL names no database") }
        let password = parts.percentEncodedPassword?.removingPercentEncoding ?? environment["PGPASSWORD"]
        let mode = parts.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        var configuration = PostgresClient.Configuration(host: host, port: parts.port ?? 5432,
                                                         username: parts.percentEncodedUser?.removingPercentEncoding ?? user,
                                                         password: password, database: database, tls: try tls(mode, url: url))
        configuration.options.maximumConnections = 16
        // The server's own bounds: a node that freezes or loses its network mid-batch (holding the writers'
        // lock) has its transaction ended and its connection dropped within seconds, not TCP's hours; a
        // statement that waits or runs past them fails with a clear error.
        configuration.options.additionalStartupParameters = [
            ("idle_in_transaction_session_timeout", "20000"), ("lock_timeout", "30000"), ("statement_timeout", "120000"),
            ("tcp_keepalives_idle", "10"), ("tcp_keepalives_interval", "5"), ("tcp_keepalives_count", "3"),
        ]
        return configuration
    }

    /// The URL without its password, for messages and logs; also when it does not parse (a password with a `#`
    /// or a space), which is when it is most likely shown.
    static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        guard let at = rest.lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") else { return url }
        return String(url[..<rest.index(after: colon)]) + "***" + String(rest[at...])
    }

    private static func tls(_ mode: String, url: String) throws -> PostgresClient.Configuration.TLS {
        var unverified = TLSConfiguration.makeClientConfiguration()
        unverified.certificateVerification = .none
        switch mode {
        case "disable": return .disable
        case "prefer": return .prefer(unverified)
        case "require": return .require(unverified)
        case "verify-full": return .require(.makeClientConfiguration())
        default: throw DaemonError("--db \(redacted(url)): sslmode \(mode) is not one of disable, prefer, require, verify-full")
        }
    }
}
