/// A job file taken from `incoming/`, checked, and to be claimed: its name
/// and inode, which say, after a crash, whether a committed claim was filed.
struct SpoolClaim: Sendable {
    var name: String
    var inode: UInt64
    var request: JobRequest
}
