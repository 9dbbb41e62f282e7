/// The nodes sharing one PostgreSQL database, as one of them sees them.
public struct Cluster: Sendable, Equatable {
    /// The node that answers.
    public let node: String
    /// Nodes whose heartbeat is within the lease, this one included.
    public let nodesAlive: Int
}
