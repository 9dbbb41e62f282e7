import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Metrics
import ServiceLifecycle

/// Sends the webhook outbox: each delivery POSTed as it was stored, signed,
/// until its receiver answers 2xx; refused or unreachable, it is tried again
/// after a back-off that doubles (up to 5 minutes) and given up once
/// `giveUpAfter` has passed since its event. At least once: a receiver may get
/// a delivery twice (`X-LPH-Delivery` tells). Never in the pipeline's way: the
/// outbox is filled in the events' own transactions, and this service only
/// reads it.
///
/// The signature is HMAC-SHA256 with the secret over `<timestamp>.<body>`:
/// `X-LPH-Timestamp: <unix seconds>`, `X-LPH-Signature: sha256=<hex>`.
final class WebhookSender: Service, Sendable {
    static let attemptTimeout: TimeInterval = 10
    static let maxBackoff: Int64 = 300

    private let store: any Store
    private let broadcaster: Broadcaster
    private let secret: SymmetricKey
    private let giveUpAfter: Duration
    private let logger: Logger
    private let wakeups: AsyncStream<Void>
    private let wakeFeed: AsyncStream<Void>.Continuation
    private let scheduledWake: WakeTimer

    init(store: any Store, broadcaster: Broadcaster, secret: [UInt8], giveUpAfter: Duration, logger: Logger) {
        self.store = store
        self.broadcaster = broadcaster
        self.secret = SymmetricKey(data: secret)
        self.giveUpAfter = giveUpAfter
        self.logger = logger
        let (wakeups, wakeFeed) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        (self.wakeups, self.wakeFeed) = (wakeups, wakeFeed)
        scheduledWake = WakeTimer { wakeFeed.yield() }
    }

    func run() async throws {
        // An event a webhook may want was committed with its deliveries: look now.
        let token = broadcaster.subscribe { [wakeFeed] events in
            if events.contains(where: { WebhookKind.of($0) != nil }) { wakeFeed.yield() }
        }
        defer { broadcaster.unsubscribe(token) }
        wakeFeed.yield()
        for await _ in wakeups.cancelOnGracefulShutdown() {
            if await deliverDue() {
                if let next = try? await store.nextDeliveryAttempt() { scheduledWake.wake(at: next) }
            } else {
                scheduledWake.wake(after: .seconds(5))
            }
        }
        scheduledWake.cancel()
    }

    /// Sends what is due, until nothing is or the daemon stops; false when the
    /// database refused to record an outcome (the same deliveries would only
    /// be sent again at once: they wait a while).
    private func deliverDue() async -> Bool {
        while !Task.isShuttingDownGracefully, let due = try? await store.dueDeliveries(limit: 20), !due.isEmpty {
            for delivery in due {
                guard !Task.isShuttingDownGracefully else { return true }
                guard await deliver(delivery) else { return false }
            }
        }
        return true
    }

    /// One attempt; false when its outcome could not be recorded.
    private func deliver(_ delivery: WebhookDelivery) async -> Bool {
        let outcome: DeliveryOutcome
        do {
            let status = try await post(delivery)
            outcome = (200..<300).contains(status) ? .delivered : failure("answered \(status)", delivery)
        } catch {
            outcome = failure("\(error.localizedDescription)", delivery)
        }
        Counter(label: "lph_webhook_deliveries_total", dimensions: [("outcome", Self.name(of: outcome))]).increment()
        if case .failed(let why, nil) = outcome {
            logger.warning("webhook delivery \(delivery.id) to \(delivery.url) given up after \(delivery.attempts + 1) attempts: \(why)")
        }
        do {
            try await store.recordDelivery(delivery.id, outcome)
            return true
        } catch {
            logger.error("cannot record webhook delivery \(delivery.id), it is sent again later: \(error)")
            return false
        }
    }

    private func post(_ delivery: WebhookDelivery) async throws -> Int {
        guard let url = URL(string: delivery.url) else { throw DaemonError("not a URL: \(delivery.url)") }
        var request = URLRequest(url: url, timeoutInterval: Self.attemptTimeout)
        request.httpMethod = "POST"
        let timestamp = String(Int(Date().timeIntervalSince1970))
        let signature = HMAC<SHA256>.authenticationCode(for: Data((timestamp + "." + delivery.body).utf8), using: secret)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(timestamp, forHTTPHeaderField: "X-LPH-Timestamp")
        request.setValue("sha256=" + signature.map { String(format: "%02x", $0) }.joined(), forHTTPHeaderField: "X-LPH-Signature")
        request.setValue(String(delivery.id), forHTTPHeaderField: "X-LPH-Delivery")
        request.setValue(delivery.kind.rawValue, forHTTPHeaderField: "X-LPH-Event")
        request.httpBody = Data(delivery.body.utf8)
        let (_, response) = try await URLSession.shared.data(for: request)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }

    /// Tried again after 1, 2, 4… seconds (5 minutes at most), or given up once its time is over.
    private func failure(_ why: String, _ delivery: WebhookDelivery) -> DeliveryOutcome {
        let age = (Timestamp.milliseconds(Timestamp.now()) ?? 0) - (Timestamp.milliseconds(delivery.createdAt) ?? 0)
        guard age < giveUpAfter.components.seconds * 1000 else { return .failed(why, retryAt: nil) }
        let wait = min(Int64(1) << min(delivery.attempts, 16), Self.maxBackoff)
        return .failed(why, retryAt: Timestamp.after(.seconds(wait)))
    }

    private static func name(of outcome: DeliveryOutcome) -> String {
        switch outcome {
        case .delivered: "delivered"
        case .failed(_, nil): "given_up"
        case .failed: "retried"
        }
    }
}
