/// An operational error with a message meant for a person.
struct DaemonError: Error, CustomStringConvertible, Sendable {
    let description: String
    init(_ description: String) { self.description = description }
}
