/// One insight: a sentence for people, a JSON object for programs.
struct Insight: Sendable {
    var text: String
    var level: Level = .info
    var job: Int64?
    var payload: String
}
