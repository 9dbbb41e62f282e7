import ArgumentParser
import Foundation
import LinesPerHour
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon: the spool, the agents, the database, the FIFO and the HTTP server.")

    @Option(help: "The spool folder (holds incoming/, accepted/, rejected/ and events.fifo).")
    var spool = defaults.spool
    @Option(help: "The folder of generated projects; each job's agent runs in <projects>/<project>/.")
    var projects = defaults.projects
    @Option(help: "The SQLite database file, or postgres://USER[:PASSWORD]@HOST[:PORT]/DB for one that several nodes share (the password may come from PGPASSWORD).")
    var db = defaults.database
    @Option(help: "This node's name among those sharing a PostgreSQL database.")
    var node = defaults.node
    @Option(help: "Seconds without a heartbeat after which a node is dead and its running jobs fail (PostgreSQL).")
    var nodeLease = defaults.nodeLease.seconds
    @Flag(help: "The projects folder is shared by every node (a network file system): any node may run any project's next job.")
    var sharedProjects = defaults.sharedProjects
    @Option(help: "The daemon's state folder (admin.token, specification files).")
    var stateDir = defaults.stateDirectory
    @Option(help: "Where the HTTP server listens, HOST:PORT.")
    var listen = "\(defaults.host):\(defaults.port)"
    @Option(name: .customLong("allowed-host"), help: "A host name the HTTP server answers to, besides IP addresses and localhost (repeatable); any other Host is refused, against DNS rebinding.")
    var allowedHosts = defaults.allowedHosts.sorted()
    @Option(help: "Seconds after which an HTTP connection with no request in progress is closed (slow or silent clients).")
    var idleTimeout = defaults.idleTimeout.seconds
    @Option(help: "Event streams one user may hold open at once; more are refused with 429.")
    var maxStreamsPerUser = defaults.streamsPerUser
    @Option(help: "How many jobs run at once.")
    var maxJobs = defaults.maxJobs
    @Option(help: "The agent command line, split as a shell splits words (default: this program's demo agent).")
    var agent: String?
    @Option(help: "How jobs that name no 'agent:' run: command (the --agent line), stream-json (the --agent line, an agent CLI printing JSON events) or speckit (GitHub Spec Kit's workflow).")
    var agentProfile = defaults.agentProfile.rawValue
    @Option(help: "The Spec Kit command line of the speckit profile.")
    var specify = defaults.specify.joined(separator: " ")
    @Option(help: "The Spec Kit integration the speckit profile sets projects up with (claude, codex, gemini, …).")
    var speckitIntegration = defaults.speckitIntegration
    @Option(help: "Seconds per phase for the default demo agent.")
    var demoPace = 3.0
    @Option(help: "The FIFO's line format: text or json.")
    var fifoFormat = defaults.fifoFormat.rawValue
    @Option(help: "A group whose members may read the FIFO (it is then 0660, else 0600).")
    var fifoGroup: String?
    @Option(help: "The user of job files that name none (default: the admin).")
    var defaultUser: String?
    @Option(help: "Seconds after which a running job is stopped and failed (0: never).")
    var jobTimeout = Int(defaults.jobTimeout?.seconds ?? 0)
    @Option(help: "How often a job that failed for a transient cause (a provider's rate or usage limit, a daemon restart) is retried; 0: never.")
    var retries = defaults.retries
    @Option(help: "Seconds a retry waits before it may start.")
    var retryDelay = defaults.retryDelay.seconds
    @Option(name: .customLong("webhook"), help: "A URL told of events by a signed JSON POST (repeatable).")
    var webhooks = defaults.webhooks
    @Option(help: "What webhooks are told of, comma-separated: \(WebhookKind.names).")
    var webhookEvents = defaults.webhookEvents.map(\.rawValue).sorted().joined(separator: ",")
    @Option(help: "The file (mode 0600) of the key webhook deliveries are signed with (HMAC-SHA256).")
    var webhookSecretFile: String?
    @Option(help: "Hours a webhook delivery is tried before it is given up.")
    var webhookGiveUp = defaults.webhookGiveUp.seconds / 3600
    @Option(help: "Days after which the log lines and journal rows of ended jobs are pruned (0: kept for ever).")
    var retainDays = (defaults.retention?.seconds ?? 0) / 86_400
    @Option(help: "Seconds between the safety sweeps that rescan the projects folder against the index.")
    var sweepInterval = Int(defaults.sweepInterval.seconds)
    @Option(help: "Seconds between the observer's looks at what only time reveals (the queue).")
    var observeInterval = defaults.observeInterval.seconds
    @Option(help: "Seconds without output or a file written after which a running job is reported stalled.")
    var stallAfter = defaults.stallAfter.seconds
    @Option(name: .customLong("phase-pattern"), help: "PHASE=REGEX: a line matching REGEX means the agent is in PHASE (repeatable; replaces the defaults).")
    var phasePatterns: [String] = []
    @Flag(help: "Print the settings the daemon would run with (defaults, then lph.json or $LPH_CONFIG, then LPH_* variables, then these flags) and exit.")
    var printSettings = false

    func run() async throws {
        let settings = try effectiveSettings()
        if printSettings { return print(settings.summary) }
        try await serve(settings)
    }

    /// The configured settings, and over them every flag given here.
    private func effectiveSettings() throws -> Settings {
        var settings = defaults
        settings.agent = try agentCommand()
        guard let profile = AgentProfile(rawValue: agentProfile) else { throw ValidationError("--agent-profile is one of \(AgentProfile.names)") }
        settings.agentProfile = profile
        settings.specify = try ShellWords.split(specify)
        guard !settings.specify.isEmpty, !speckitIntegration.isEmpty else { throw ValidationError("--specify and --speckit-integration must not be empty") }
        settings.speckitIntegration = speckitIntegration
        settings.spool = spool
        settings.projects = projects
        settings.database = db
        guard !node.isEmpty, nodeLease >= 1 else { throw ValidationError("--node must not be empty, and --node-lease is at least 1 second") }
        settings.node = node
        settings.nodeLease = .milliseconds(Int64(nodeLease * 1000))
        settings.sharedProjects = sharedProjects
        settings.stateDirectory = stateDir
        (settings.host, settings.port) = try hostAndPort()
        settings.allowedHosts = Set(allowedHosts)
        guard maxJobs >= 1 else { throw ValidationError("--max-jobs must be at least 1") }
        settings.maxJobs = maxJobs
        guard maxStreamsPerUser >= 1 else { throw ValidationError("--max-streams-per-user must be at least 1") }
        settings.streamsPerUser = maxStreamsPerUser
        guard idleTimeout > 0 else { throw ValidationError("--idle-timeout must be positive") }
        settings.idleTimeout = .seconds(idleTimeout)
        guard let format = FifoSink.Format(rawValue: fifoFormat) else { throw ValidationError("--fifo-format is text or json") }
        settings.fifoFormat = format
        settings.fifoGroup = fifoGroup ?? settings.fifoGroup
        settings.defaultUser = defaultUser ?? settings.defaultUser
        settings.jobTimeout = jobTimeout > 0 ? .seconds(jobTimeout) : nil
        guard retries >= 0, retryDelay >= 0 else { throw ValidationError("--retries and --retry-delay must not be negative") }
        settings.retries = retries
        try applyWebhooks(to: &settings)
        guard retainDays >= 0 else { throw ValidationError("--retain-days must not be negative") }
        settings.retention = retainDays > 0 ? .seconds(retainDays * 86_400) : nil
        settings.retryDelay = .milliseconds(Int64(retryDelay * 1000))
        guard sweepInterval >= 1 else { throw ValidationError("--sweep-interval must be at least 1 second") }
        settings.sweepInterval = .seconds(sweepInterval)
        guard observeInterval > 0, stallAfter > 0 else { throw ValidationError("--observe-interval and --stall-after must be positive") }
        settings.observeInterval = .seconds(observeInterval)
        settings.stallAfter = .seconds(stallAfter)
        if !phasePatterns.isEmpty { settings.phaseRules = try phaseRules() }
        return settings
    }

    private func serve(_ settings: Settings) async throws {
        var settings = settings
        let environment = ProcessInfo.processInfo.environment
        settings.notifySocket = environment["NOTIFY_SOCKET"]
        settings.watchdog = Self.watchdog(environment)
        // Under systemd, standard error goes to journald: lines it reads with their priority.
        let underJournald = environment["JOURNAL_STREAM"] != nil
        var logger = Logger(label: "lph") { label in
            OneLineLogHandler(wrapping: underJournald ? JournalLogHandler(label: label) : StreamLogHandler.standardError(label: label))
        }
        logger.logLevel = .info
        let daemon = try await Daemon(settings: settings, logger: logger)
        // The admin token, so the printed address signs the browser in; the file is ours (0600).
        let token = daemon.newAdminToken ?? (try? String(contentsOfFile: settings.adminTokenPath, encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let final = settings
        try await daemon.run { port in
            let address = "http://\(final.host):\(port)/"
            if let token {
                say("lph: dashboard at \(address)?token=\(token)")
            } else {
                say("lph: serving on \(address); sign in with a token (lph users add)")
            }
            say("lph: drop job files into \(final.spool)/incoming/, follow events with: cat \(final.spool)/events.fifo")
        }
    }

    private func applyWebhooks(to settings: inout Settings) throws {
        for url in webhooks {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw ValidationError("--webhook \(url): an http or https URL")
            }
        }
        settings.webhooks = webhooks
        settings.webhookEvents = Set(try webhookEvents.split(separator: ",").map { name in
            guard let kind = WebhookKind(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--webhook-events: unknown kind \(name) (known: \(WebhookKind.names))")
            }
            return kind
        })
        settings.webhookSecretFile = webhookSecretFile ?? settings.webhookSecretFile
        guard webhookGiveUp > 0 else { throw ValidationError("--webhook-give-up must be positive") }
        settings.webhookGiveUp = .seconds(webhookGiveUp * 3600)
    }

    /// systemd's watchdog period, when it is meant for this process.
    private static func watchdog(_ environment: [String: String]) -> Duration? {
        guard let microseconds = environment["WATCHDOG_USEC"].flatMap(Int64.init), microseconds > 0 else { return nil }
        if let pid = environment["WATCHDOG_PID"], pid != String(getpid()) { return nil }
        return .microseconds(microseconds)
    }

    private func agentCommand() throws -> [String] {
        if let agent {
            let words = try ShellWords.split(agent)
            guard !words.isEmpty else { throw ValidationError("--agent is empty") }
            return words
        }
        return defaults.agent.isEmpty ? [CommandLine.selfPath, "demo-agent", "--pace", String(demoPace)] : defaults.agent
    }

    private func hostAndPort() throws -> (String, Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
              (0...65535).contains(port) else {
            throw ValidationError("--listen must be HOST:PORT, for instance 127.0.0.1:8050")
        }
        let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    private func phaseRules() throws -> [LineClassifier.PhaseRule] {
        try phasePatterns.map { spec in
            guard let eq = spec.firstIndex(of: "="), let phase = Phase(rawValue: String(spec[..<eq])) else {
                throw ValidationError("--phase-pattern must be PHASE=REGEX with PHASE one of specify, plan, implement, test, review")
            }
            do {
                return try LineClassifier.PhaseRule(phase: phase, pattern: String(spec[spec.index(after: eq)...]))
            } catch {
                throw ValidationError("--phase-pattern \(spec): \(error)")
            }
        }
    }
}

/// What `lph` does when not told otherwise: the daemon's own defaults, as
/// the configuration file and `LPH_*` variables change them (``Configured``).
var defaults: Settings { Configured.settings }

extension Duration {
    /// As the command line gives durations: seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension CommandLine {
    /// This program's own path, so the default agent is the same binary.
    static var selfPath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? arguments[0]
    }
}
