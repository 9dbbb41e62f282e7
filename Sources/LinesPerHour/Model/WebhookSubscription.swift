/// A receiver of webhooks (`--webhook URL`) and the kinds of events it is told of.
public struct WebhookSubscription: Sendable, Equatable {
    public var url: String
    public var kinds: Set<WebhookKind>

    public init(url: String, kinds: Set<WebhookKind>) {
        self.url = url
        self.kinds = kinds
    }
}

/// How one attempt to deliver a webhook went.
enum DeliveryOutcome: Sendable {
    case delivered
    /// Refused or unreachable: tried again at `retryAt`, or given up when nil.
    case failed(String, retryAt: String?)
}
