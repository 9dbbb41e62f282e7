import Foundation
import Logging
import PostgresNIO

/// A connection the store's queries run on (the writer's transaction, or a
/// read), with the few verbs they need.
struct PostgresSession: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    @discardableResult
    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await connection.query(query, logger: logger).collect()
    }

    /// The first column of the first row; nil when there is no row or it is NULL.
    func value<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type = T.self) async throws -> T? where T._DecodableType == T {
        try await rows(query).first?.decode(T?.self) ?? nil
    }

    /// The rows of a SELECT (or of an UPDATE's RETURNING) as model records:
    /// each row as JSON with its column names, decoded as the API's JSON is
    /// (snake_case keys), so one query text makes a record however many columns it has.
    func records<T: Decodable>(_ select: PostgresQuery, as type: T.Type = T.self) async throws -> [T] {
        let query = PostgresQuery(unsafeSQL: "WITH r AS (\(select.sql)) SELECT row_to_json(r)::text FROM r", binds: select.binds)
        return try await rows(query).map { try JSONCoding.decoder.decode(T.self, from: Data($0.decode(String.self).utf8)) }
    }

    func record<T: Decodable>(_ select: PostgresQuery, as type: T.Type = T.self) async throws -> T? {
        try await records(select, as: type).first
    }
}

/// A WHERE clause whose conditions apply only when their value is given (a
/// nil filter means "any"), bound as `$n` in the order they are added.
struct PostgresFilter {
    private var clauses: [String]
    private(set) var binds = PostgresBindings()

    init(_ always: String...) {
        clauses = always
    }

    /// Adds `clause`, whose one `?` becomes the value's placeholder, when `value` is not nil.
    mutating func add<V: PostgresDynamicTypeEncodable>(_ clause: String, _ value: V?) {
        guard let value else { return }
        binds.append(value)
        clauses.append(clause.replacingOccurrences(of: "?", with: "$\(binds.count)"))
    }

    /// The next placeholder for a value bound after the filter's (a LIMIT, say).
    mutating func bind<V: PostgresDynamicTypeEncodable>(_ value: V) -> String {
        binds.append(value)
        return "$\(binds.count)"
    }

    var sql: String { clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ") }

    /// `head` (the SELECT), the filter, then `tail` (ORDER BY and LIMIT, placeholders from ``bind(_:)``).
    func query(_ head: String, _ tail: String = "") -> PostgresQuery {
        PostgresQuery(unsafeSQL: head + sql + " " + tail, binds: binds)
    }
}
