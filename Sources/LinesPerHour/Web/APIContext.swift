import Hummingbird

/// The request context of every route: Hummingbird's core, plus the user a
/// token proved, once ``BearerAuth`` has run.
struct APIContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var user: User?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    func requireUser() throws -> User {
        guard let user else { throw APIError(.unauthorized, "a token is needed") }
        return user
    }
}
