import Foundation
import Glibc
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The whole daemon: the stages wired in the order data flows through them,
/// run as one group of services that starts together and stops gracefully
/// (HTTP first, the database writer last, so every accepted row is flushed).
public final class Daemon: Sendable {
    public let settings: Settings
    let store: any Store
    let broadcaster: Broadcaster
    let executor: Executor
    let index: ArtifactIndex
    let changes: ChangeTracker
    let spool: Spool
    /// Set on the first start only: the new admin's token.
    public let newAdminToken: String?
    /// The key webhooks are signed with, when there are webhooks.
    private let webhookSecret: [UInt8]?
    private let logger: Logger

    public init(settings: Settings, logger: Logger = Logger(label: "lph")) async throws {
        signal(SIGPIPE, SIG_IGN)  // a FIFO reader or HTTP client that leaves must not kill the daemon
        signal(SIGXFSZ, SIG_IGN)  // a file size limit is a failed write (EFBIG), retried, not a death
        signal(SIGIO, SIG_IGN)    // a writer opening a spool file the intake holds a read lease on: the lease is released at once anyway
        Self.raiseOpenFileLimit()
        MetricsEndpoint.bootstrap()
        self.settings = settings
        self.logger = logger
        spool = Spool(root: settings.spool)
        try spool.prepare()
        try FifoSink.create(at: spool.fifo, group: settings.fifoGroup)
        try FileManager.default.createDirectory(atPath: settings.projects, withIntermediateDirectories: true)
        try PrivateFile.folder(settings.stateDirectory)
        try PrivateFile.folder(settings.stateDirectory + "/specs")
        let broadcaster = Broadcaster()
        self.broadcaster = broadcaster
        webhookSecret = try Self.webhookSecret(settings)
        let webhooks = settings.webhooks.map { WebhookSubscription(url: $0, kinds: settings.webhookEvents) }
        store = try await Self.openStore(settings, webhooks: webhooks, logger: logger) { broadcaster.publish($0) }
        let running = RunningJobs()
        let (shadows, projects) = (Self.absolute(settings.stateDirectory + "/shadow"), Self.absolute(settings.projects))
        try PrivateFile.folder(shadows)
        ShadowRepository.removeUnfinished(in: shadows)
        changes = ChangeTracker(shadows: shadows, projects: projects, store: store, logger: logger) { job in
            running.control(of: job)?.stop(.creditsExhausted)
        }
        index = ArtifactIndex(root: projects, store: store, runningJobs: { running.jobsByProject }, changeTracker: changes,
                              ignore: IgnoreRules(shadows: shadows, projects: projects),
                              sweepInterval: settings.sweepInterval, logger: logger)
        try SpecKit.install(at: settings.speckitWorkflowPath)
        var agents = AgentSettings(command: settings.agent, workflowFile: Self.absolute(settings.speckitWorkflowPath))
        agents.profile = settings.agentProfile
        agents.specify = settings.specify
        agents.integration = settings.speckitIntegration
        executor = Executor(policy: .init(
            agents: agents,
            projectsDirectory: Self.absolute(settings.projects),
            specsDirectory: Self.absolute(settings.stateDirectory + "/specs"),
            maxJobs: settings.maxJobs,
            timeout: settings.jobTimeout,
            grace: settings.stopGrace,
            classifier: LineClassifier(rules: settings.phaseRules),
            retries: settings.retries,
            retryDelay: settings.retryDelay
        ), store: store, running: running, index: index, changes: changes, logger: logger)
        newAdminToken = try await AdminBootstrap.ensureAdmin(store: store, settings: settings)
        if store is PostgresStore {
            _ = broadcaster.subscribe { [executor] events in Self.followOtherNodes(events, executor: executor, running: running) }
        }
    }

    /// What other nodes' `jobs` events (the ones without a subject) mean here: one queued there may start
    /// here, one ended there may free its project here, and one of ours that another node ended (it
    /// declared this node lost while it was cut off) has its agent stopped: it runs nowhere twice.
    private static func followOtherNodes(_ events: [Event], executor: Executor, running: RunningJobs) {
        let theirs = events.filter { $0.stream == .jobs && $0.subject == nil }
        guard !theirs.isEmpty else { return }
        for event in theirs {
            guard let id = event.jobID, let control = running.control(of: id), let payload = event.payload,
                  let job = try? JSONCoding.decoder.decode(Job.self, from: Data(payload.utf8)), job.status.isFinal else { continue }
            control.stop(.endedElsewhere)
        }
        executor.wake()
    }

    /// SQLite at a path, or PostgreSQL at a URL, shared with other nodes.
    private static func openStore(_ settings: Settings, webhooks: [WebhookSubscription], logger: Logger,
                                  publish: @escaping @Sendable ([Event]) -> Void) async throws -> any Store {
        guard PostgresURL.isPostgres(settings.database) else {
            return try SQLiteStore(path: settings.database, logger: logger, webhooks: webhooks, publish: publish)
        }
        let node = PostgresStore.Node(name: settings.node, lease: settings.nodeLease, sharedProjects: settings.sharedProjects)
        return try await PostgresStore.open(url: settings.database, node: node, logger: logger, webhooks: webhooks, publish: publish)
    }

    private static func webhookSecret(_ settings: Settings) throws -> [UInt8]? {
        guard !settings.webhooks.isEmpty else { return nil }
        guard let file = settings.webhookSecretFile else {
            throw DaemonError("--webhook needs --webhook-secret-file: the file (mode 0600) of the key deliveries are signed with")
        }
        return try PrivateFile.readSecret(file)
    }

    /// Every SSE client, agent pipe and watched file is a descriptor: the soft
    /// limit (often 1,024) goes up to the hard one.
    private static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// Runs until SIGTERM or SIGINT (or ``shutdown()``), then stops gracefully.
    /// `onListening` is told the HTTP port once the server accepts connections.
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let intake = Intake(spool: spool, store: store, defaultUser: settings.defaultUser, logger: logger) { [executor] in
            executor.wake()
        }
        let fifo = FifoSink(path: spool.fifo, format: settings.fifoFormat, broadcaster: broadcaster, logger: logger)
        let observer = Observer(store: store, broadcaster: broadcaster, interval: settings.observeInterval,
                                stallAfter: settings.stallAfter, maxJobs: settings.maxJobs, logger: logger)
        let curator = Curator(store: store, broadcaster: broadcaster, logger: logger)
        let dependencies = HTTPServer.Dependencies(store: store, executor: executor, intake: intake, index: index,
                                                   broadcaster: broadcaster, changes: changes)
        let router = HTTPServer.router(dependencies, allowedHosts: settings.allowedHosts.union([settings.host]),
                                       streamsPerUser: settings.streamsPerUser)
        let notifier = settings.notifySocket.map { SystemdNotifier(socket: $0, watchdog: settings.watchdog) }
        let http = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: TimeAmount(settings.idleTimeout))),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "lph"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                (self.store as? PostgresStore)?.serving(at: "http://\(self.settings.host):\(port)/")
                notifier?.send("READY=1\nSTATUS=serving on port \(port)")
                await onListening(port)
            },
            logger: logger
        )
        let sender = webhookSecret.map {
            WebhookSender(store: store, broadcaster: broadcaster, secret: $0, giveUpAfter: settings.webhookGiveUp, logger: logger)
        }
        let retention = settings.retention.map { Retention(store: store, keep: $0, interval: settings.retentionInterval, logger: logger) }
        // Stopped in reverse order: systemd hears STOPPING=1 first, the store flushes last.
        let optional: [(any Service)?] = [retention, sender]
        var services: [any Service] = [store, fifo, observer, curator] + optional.compactMap { $0 }
        services += [changes, index, executor, intake, http] as [any Service]
        if let notifier { services.append(notifier) }
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        if !["127.0.0.1", "::1", "localhost"].contains(settings.host) {
            logger.warning("listening on \(settings.host) without TLS: tokens cross the network in clear; put a TLS proxy in front")
        }
        groupBox.withLock { $0 = group }
        try await group.run()
    }

    /// Stops the daemon as SIGTERM would.
    public func shutdown() async {
        await groupBox.withLock { $0 }?.triggerGracefulShutdown()
    }

    private let groupBox = Mutex<ServiceGroup?>(nil)

    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}
