/// A knowledge fact: what the curator knows of a subject (a project), one key at a time.
struct Fact: Sendable, Codable, Equatable {
    var subject: String
    var key: String
    var value: String
    var updatedAt: String
}
