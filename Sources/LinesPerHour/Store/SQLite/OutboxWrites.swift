import GRDB

/// The webhook outbox (`webhook_deliveries`). A delivery is stored in the same
/// transaction as the event it tells of, so an event is never committed
/// without its deliveries, nor a delivery without its event; the sender takes
/// them from here, however often the daemon restarts in between.
enum OutboxWrites {
    /// A delivery to every webhook that wants each event's kind.
    static func capture(_ db: Database, _ events: [Event], for webhooks: [WebhookSubscription]) throws {
        for event in events {
            guard let kind = WebhookKind.of(event) else { continue }
            let body = "{\"event\":\(event.json),\"event_id\":\(event.id),\"kind\":\"\(kind.rawValue)\"}"
            let now = Timestamp.now()
            for webhook in webhooks where webhook.kinds.contains(kind) {
                try db.execute(sql: """
                    INSERT INTO webhook_deliveries (url, kind, event_id, body, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [webhook.url, kind.rawValue, event.id, body, now, now])
            }
        }
    }

    static func record(_ db: Database, delivery: Int64, _ outcome: DeliveryOutcome) throws {
        switch outcome {
        case .delivered:
            try db.execute(sql: """
                UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_error = NULL, delivered_at = ? WHERE id = ?
                """, arguments: [Timestamp.now(), delivery])
        case let .failed(error, retryAt):
            try db.execute(sql: """
                UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = coalesce(?, next_attempt_at)
                WHERE id = ?
                """, arguments: [retryAt == nil ? "given_up" : "pending", error, retryAt, delivery])
        }
    }
}
