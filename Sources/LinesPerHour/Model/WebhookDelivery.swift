/// One delivery of the webhook outbox (`webhook_deliveries`): stored in the
/// transaction of the event it tells of, then sent until a receiver takes it.
public struct WebhookDelivery: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable {
        case pending, delivered
        case givenUp = "given_up"
    }

    public var id: Int64
    public var url: String
    public var kind: WebhookKind
    public var eventId: Int64
    /// The JSON body, exactly as signed and sent.
    public var body: String
    public var status: Status
    public var attempts: Int64
    public var lastError: String?
    public var nextAttemptAt: String
    public var createdAt: String
    public var deliveredAt: String?
}
