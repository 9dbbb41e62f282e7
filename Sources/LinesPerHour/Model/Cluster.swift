/// The nodes sharing one PostgreSQL database, as one of them sees them.
public struct Cluster: Sendable, Equatable {
    /// The node that answers.
    public let node: String
    /// Nodes whose heartbeat is within the lease, this one included.
    public let nodesAlive: Int
    /// Whether every node sees every project's folder (`--shared-projects`).
    public var sharedProjects = false

    /// Whether a job's project folder is on this node (a job of no node yet: here, as far as anyone knows).
    public func hasFolder(of job: Job) -> Bool {
        sharedProjects || job.node == nil || job.node == node
    }
}
