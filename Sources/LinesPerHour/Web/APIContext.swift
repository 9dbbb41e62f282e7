import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's core, plus the user a
/// token proved, once ``BearerAuth`` has run.
struct APIContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var user: User?
    /// The request's connection: an event stream closes it when its client leaves.
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    func requireUser() throws -> User {
        guard let user else { throw APIError(.unauthorized, "a token is needed") }
        return user
    }
}
