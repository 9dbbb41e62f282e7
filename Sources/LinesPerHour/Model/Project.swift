/// A project as the API shows it.
struct Project: Sendable, Codable, Equatable {
    var id: Int64
    var name: String
    var user: String
    var createdAt: String
    var jobs: Int64
}
