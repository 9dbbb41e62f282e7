/// Sizes every door of the daemon holds to.
enum Limits {
    /// A job file, and so a specification, whichever way a job comes: 1 MiB.
    static let maxSpecification = 1 << 20
}
