import Testing
@testable import LinesPerHour

@Suite struct LaneAssignmentsTests {
    @Test func aProjectStaysOnItsLaneWhileItHasRequestsAndOthersGoToTheFreeOne() {
        var lanes = LaneAssignments(lanes: 2)
        let big = lanes.take("Big")
        #expect(lanes.take("Big") == big)  // queued behind its own snapshot, in order
        let other = lanes.take("New")
        #expect(other != big)  // not behind Big's snapshots
        lanes.release("New")
        #expect(lanes.take("Third") == other)
        lanes.release("Big")
        lanes.release("Big")
        lanes.release("Third")
        // Nothing in flight: each goes back to the lane that has its repository open.
        #expect(lanes.take("Big") == big)
        #expect(lanes.take("Third") == other)
    }

    @Test func aProjectLeavesItsLastLaneWhenAnotherIsLessBusy() {
        var lanes = LaneAssignments(lanes: 2)
        let home = lanes.take("P")
        lanes.release("P")
        #expect(lanes.take("Q") == home)
        #expect(lanes.take("Q") == home)
        #expect(lanes.take("P") != home)
    }
}
