import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import Metrics
import NIOCore
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
    static let attemptTimeout: TimeAmount = .seconds(10)
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
            outcome = failure("\(error)", delivery)
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

    private func post(_ delivery: WebhookDelivery) async throws -> UInt {
        var request = HTTPClientRequest(url: delivery.url)
        request.method = .POST
        let timestamp = String(Int(Date().timeIntervalSince1970))
        let signature = HMAC<SHA256>.authenticationCode(for: Data((timestamp + "." + delivery.body).utf8), using: secret)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-LPH-Timestamp", value: timestamp)
        request.headers.add(name: "X-LPH-Signature", value: "sha256=" + signature.map { String(format: "%02x", $0) }.joined())
        request.headers.add(name: "X-LPH-Delivery", value: String(delivery.id))
        request.headers.add(name: "X-LPH-Event", value: delivery.kind.rawValue)
        request.body = .bytes(ByteBuffer(string: delivery.body))
        let response = try await HTTPClient.shared.execute(request, timeout: Self.attemptTimeout)
        // Read to the end (a receiver's answer is not kept) so the connection can serve the next delivery.
        for try await _ in response.body {}
        return response.status.code
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
