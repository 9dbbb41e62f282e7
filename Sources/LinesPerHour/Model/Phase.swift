/// The workflow phases, in order; the `current_phase` column of `jobs`.
public enum Phase: String, Sendable, Codable, CaseIterable, Comparable {
    case idle, specify, plan, implement, test, review

    public static func < (lhs: Phase, rhs: Phase) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
