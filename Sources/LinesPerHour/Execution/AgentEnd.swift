/// How an agent process ended, before the daemon judges it.
enum AgentEnd: Sendable {
    case exited(Int32)
    case signalled(Int32)
    case couldNotStart(String)
}
