/// Which events a user may see: an admin all; a user those of their own
/// jobs. The event says whose job it is: deciding reads nothing, on the
/// publishing path where every subscriber's filter runs.
struct Visibility: Sendable {
    let user: User

    func allows(_ event: Event) -> Bool {
        user.role == .admin || (event.userID != nil && event.userID == user.id)
    }
}
