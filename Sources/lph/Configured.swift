import Configuration
import Foundation
import LinesPerHour
import Synchronization
import SystemPackage

/// The daemon's settings as a configuration file and the environment give
/// them, over the built-in defaults; the command line's flags win over both.
///
/// The file is `lph.json` in the working folder, or the one `LPH_CONFIG`
/// names (which must then exist): one JSON object whose keys are the long
/// flags of `lph serve` with `_` for `-` (`"max_jobs": 4`, `"webhook": ["https://…"]`).
/// A variable `LPH_<KEY>` (`LPH_MAX_JOBS=4`) wins over the file. Read with
/// apple/swift-configuration.
enum Configured {
    private static let current = Mutex(Settings.defaults)

    static var settings: Settings { current.withLock { $0 } }

    static func load(environment: [String: String] = ProcessInfo.processInfo.environment) async throws {
        let named = environment["LPH_CONFIG"]
        let path = named ?? "lph.json"
        let file: FileProvider<JSONSnapshot>
        do {
            file = try await FileProvider(filePath: FilePath(path), allowMissing: named == nil)
        } catch {
            throw Failure("cannot read the configuration file \(path): \(error)")
        }
        // LPH_MAX_JOBS is read as the key max_jobs: the prefix is the daemon's, the rest the key's.
        let variables = Dictionary(uniqueKeysWithValues: environment.compactMap { name, value in
            name.hasPrefix("LPH_") && name != "LPH_CONFIG" ? (String(name.dropFirst(4)), value) : nil
        })
        let reader = ConfigReader(providers: [EnvironmentVariablesProvider(environmentVariables: variables), file])
        let settings = try read(reader)
        current.withLock { $0 = settings }
    }

    /// Every setting the configuration may give, each over its built-in default.
    private static func read(_ config: ConfigReader) throws -> Settings {
        var s = Settings.defaults
        s.spool = config.string(forKey: "spool", default: s.spool)
        s.projects = config.string(forKey: "projects", default: s.projects)
        s.database = config.string(forKey: "db", default: s.database)
        s.node = config.string(forKey: "node", default: s.node)
        s.nodeLease = seconds(config.double(forKey: "node_lease"), or: s.nodeLease)
        s.sharedProjects = config.bool(forKey: "shared_projects", default: s.sharedProjects)
        s.stateDirectory = config.string(forKey: "state_dir", default: s.stateDirectory)
        if let listen = config.string(forKey: "listen") {
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
                throw Failure("configuration: listen must be HOST:PORT, not \(listen)")
            }
            (s.host, s.port) = (String(listen[..<colon]), port)
        }
        s.allowedHosts = Set(config.stringArray(forKey: "allowed_host", default: Array(s.allowedHosts)))
        s.idleTimeout = seconds(config.double(forKey: "idle_timeout"), or: s.idleTimeout)
        s.streamsPerUser = config.int(forKey: "max_streams_per_user", default: s.streamsPerUser)
        s.maxJobs = config.int(forKey: "max_jobs", default: s.maxJobs)
        if let agent = config.string(forKey: "agent") { s.agent = try ShellWords.split(agent) }
        if let profile = config.string(forKey: "agent_profile") {
            guard let known = AgentProfile(rawValue: profile) else { throw Failure("configuration: agent_profile is one of \(AgentProfile.names)") }
            s.agentProfile = known
        }
        if let specify = config.string(forKey: "specify") { s.specify = try ShellWords.split(specify) }
        s.speckitIntegration = config.string(forKey: "speckit_integration", default: s.speckitIntegration)
        if let format = config.string(forKey: "fifo_format") {
            guard let known = FifoSink.Format(rawValue: format) else { throw Failure("configuration: fifo_format is text or json") }
            s.fifoFormat = known
        }
        s.fifoGroup = config.string(forKey: "fifo_group") ?? s.fifoGroup
        s.defaultUser = config.string(forKey: "default_user") ?? s.defaultUser
        s.adminEmail = config.string(forKey: "admin_email", default: s.adminEmail)
        if let timeout = config.double(forKey: "job_timeout") { s.jobTimeout = timeout > 0 ? .seconds(timeout) : nil }
        s.retries = config.int(forKey: "retries", default: s.retries)
        s.retryDelay = seconds(config.double(forKey: "retry_delay"), or: s.retryDelay)
        s.webhooks = config.stringArray(forKey: "webhook", default: s.webhooks)
        if let kinds = config.stringArray(forKey: "webhook_events") {
            s.webhookEvents = Set(try kinds.map { name in
                guard let kind = WebhookKind(rawValue: name) else { throw Failure("configuration: unknown webhook event \(name)") }
                return kind
            })
        }
        s.webhookSecretFile = config.string(forKey: "webhook_secret_file") ?? s.webhookSecretFile
        s.webhookGiveUp = seconds(config.double(forKey: "webhook_give_up").map { $0 * 3600 }, or: s.webhookGiveUp)
        if let days = config.double(forKey: "retain_days") { s.retention = days > 0 ? .seconds(days * 86_400) : nil }
        s.sweepInterval = seconds(config.double(forKey: "sweep_interval"), or: s.sweepInterval)
        s.observeInterval = seconds(config.double(forKey: "observe_interval"), or: s.observeInterval)
        s.stallAfter = seconds(config.double(forKey: "stall_after"), or: s.stallAfter)
        return s
    }

    private static func seconds(_ value: Double?, or fallback: Duration) -> Duration {
        value.map { .milliseconds(Int64($0 * 1000)) } ?? fallback
    }
}

extension Settings {
    /// The settings as `key = value` lines, with the configuration's keys.
    var summary: String {
        let lines: [(String, Any)] = [
            ("spool", spool), ("projects", projects), ("db", databaseForDisplay), ("node", node), ("node_lease", nodeLease.seconds), ("shared_projects", sharedProjects), ("state_dir", stateDirectory), ("listen", "\(host):\(port)"),
            ("max_jobs", maxJobs), ("agent", agent.joined(separator: " ")), ("agent_profile", agentProfile.rawValue),
            ("retries", retries), ("retry_delay", retryDelay.seconds), ("retain_days", (retention?.seconds ?? 0) / 86_400),
            ("webhook", webhooks.joined(separator: ",")), ("webhook_events", webhookEvents.map(\.rawValue).sorted().joined(separator: ",")),
            ("job_timeout", jobTimeout?.seconds ?? 0), ("sweep_interval", sweepInterval.seconds), ("stall_after", stallAfter.seconds),
        ]
        return lines.map { "\($0.0) = \($0.1)" }.joined(separator: "\n")
    }
}
