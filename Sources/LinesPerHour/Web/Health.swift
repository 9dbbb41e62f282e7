/// The answer of `/healthz`.
struct Health: Codable, Sendable {
    var status: String
    var problems: [String]
}
