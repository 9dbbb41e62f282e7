/// Which of the change tracker's lanes runs each project's next request.
///
/// A project's requests run one at a time, on one thread (a repository's
/// index is written by one thread at a time; a job's measurements are ordered
/// by ``ChangeTracker`` as they run): while a project has requests queued or
/// running, the next one joins them on their lane. Otherwise it goes back to
/// the lane it last ran on (which has its repository open), unless another
/// has fewer requests: one project's snapshot of 50,000 files does not hold
/// up the first snapshot of another.
struct LaneAssignments {
    private var requests: [Int]
    private var pinned: [String: (lane: Int, requests: Int)] = [:]
    private var home: [String: Int] = [:]

    init(lanes: Int) {
        requests = Array(repeating: 0, count: lanes)
    }

    /// The lane of the project's next request, counted until ``release(_:)``.
    mutating func take(_ project: String) -> Int {
        let lane = pinned[project]?.lane ?? leastBusy(preferring: home[project])
        home[project] = lane
        pinned[project, default: (lane, 0)].requests += 1
        requests[lane] += 1
        return lane
    }

    private func leastBusy(preferring lane: Int?) -> Int {
        let least = requests.indices.min { requests[$0] < requests[$1] }!
        guard let lane, requests[lane] <= requests[least] else { return least }
        return lane
    }

    /// One of the project's requests has run.
    mutating func release(_ project: String) {
        guard let entry = pinned[project] else { return }
        requests[entry.lane] -= 1
        pinned[project] = entry.requests > 1 ? (entry.lane, entry.requests - 1) : nil
    }
}
