/// One indexed file as the curator weighs it.
struct IndexedFile: Sendable {
    var path: String
    var type: String
    var lines: Int64
}
