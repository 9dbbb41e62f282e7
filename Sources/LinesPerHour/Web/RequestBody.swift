/// A JSON request body: its type, and the keys it may have (snake_case).
protocol RequestBody: Decodable {
    static var keys: Set<String> { get }
}
