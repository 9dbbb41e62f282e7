import Foundation

/// Everything `lph serve` can be told; the defaults are the contract's.
public struct Settings: Sendable {
    public var spool = "Spool"
    public var projects = "generated_projects"
    /// An SQLite file's path, or `postgres://USER[:PASSWORD]@HOST[:PORT]/DB` for a database several nodes share.
    public var database = "lph.sqlite"
    /// This node's name among those sharing a PostgreSQL database (default: the host name).
    public var node = ProcessInfo.processInfo.hostName
    /// A node whose heartbeat is older than this is dead: its running jobs fail.
    public var nodeLease: Duration = .seconds(30)
    /// The projects folder is on a file system every node shares: any node may run any project's next job.
    public var sharedProjects = false
    /// The daemon's own state: `admin.token`, the specification files handed to agents.
    public var stateDirectory = ".lph"
    /// The admin's token, written on the first start, readable by the owner only.
    public var adminTokenPath: String { stateDirectory + "/admin.token" }
    public var host = "127.0.0.1"
    /// Host names the HTTP server answers besides IP addresses and `localhost` (DNS rebinding is refused).
    public var allowedHosts: Set<String> = []
    /// 0 picks a free port (the tests do).
    public var port = 8050
    /// An HTTP connection with no request in progress (one whose headers never
    /// finish arriving, too) is closed after this long: a slow client holds nothing for ever.
    public var idleTimeout: Duration = .seconds(30)
    /// Event streams one user may hold open at once (a dashboard tab holds two).
    public var streamsPerUser = 64
    public var maxJobs = 2
    /// The agent command line, already split into words.
    public var agent: [String]
    /// How jobs that name no `agent:` run.
    public var agentProfile = AgentProfile.command
    /// The Spec Kit command line of the speckit profile, and the integration it sets projects up with.
    public var specify = ["specify"]
    public var speckitIntegration = "claude"
    /// The Spec Kit workflow the speckit profile runs, written at each start.
    public var speckitWorkflowPath: String { stateDirectory + "/speckit-workflow.yml" }
    public var fifoFormat = FifoSink.Format.text
    /// The FIFO is 0600, or 0660 with this group (readers in that group may `cat` it).
    public var fifoGroup: String?
    public var defaultUser: String?
    public var adminEmail = "admin@localhost"
    public var adminCredits: Int64 = 1_000_000
    public var jobTimeout: Duration? = .seconds(4 * 3600)
    /// How often a job that failed for a transient cause (a provider's limit, a restart) is retried; 0: never.
    public var retries = 0
    /// How long a retry waits before it may start.
    public var retryDelay: Duration = .seconds(60)
    public var stopGrace: Duration = .seconds(5)
    /// Where webhooks go (`--webhook`), what they are told of, the file of the key that signs them,
    /// and how long a delivery is tried before it is given up.
    public var webhooks: [String] = []
    public var webhookEvents: Set<WebhookKind> = [.jobEnded, .jobFailed, .creditsLow, .nodeLost]
    public var webhookSecretFile: String?
    public var webhookGiveUp: Duration = .seconds(24 * 3600)
    /// systemd's notification socket (`$NOTIFY_SOCKET` of a `Type=notify` unit), and its watchdog period.
    public var notifySocket: String?
    public var watchdog: Duration?
    /// Log lines and journal rows of jobs ended longer ago than this are pruned (nil: kept for ever).
    public var retention: Duration?
    /// How often the pruning looks.
    public var retentionInterval: Duration = .seconds(3600)
    /// The slow safety sweep of `generated_projects/`, reconciled with the index.
    public var sweepInterval: Duration = .seconds(600)
    public var phaseRules = LineClassifier.defaultRules()
    /// How often the observer looks at what only time reveals (the queue).
    public var observeInterval: Duration = .seconds(30)
    /// A running job silent (no output, no file) this long is reported stalled.
    public var stallAfter: Duration = .seconds(120)

    public init(agent: [String]) {
        self.agent = agent
    }

    /// The defaults, as the command line shows and uses them (the agent is its own).
    public static let defaults = Settings(agent: [])

    /// The database setting as it may be shown: without a URL's password.
    public var databaseForDisplay: String { PostgresURL.redacted(database) }
}
