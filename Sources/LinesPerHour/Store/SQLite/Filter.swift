import GRDB

/// The WHERE clause of a read whose conditions apply only when their value is
/// given (a nil filter means "any"), with its values in the order they bind.
struct Filter {
    private var clauses: [String]
    private var values: [any DatabaseValueConvertible] = []

    /// Starts with conditions that always apply (and bind nothing).
    init(_ always: String...) {
        clauses = always
    }

    /// Adds `clause` (with one `?`) when `value` is not nil.
    mutating func add(_ clause: String, _ value: (any DatabaseValueConvertible)?) {
        guard let value else { return }
        clauses.append(clause)
        values.append(value)
    }

    var sql: String { clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ") }

    /// The filter's values, then `more` (a LIMIT, say).
    func arguments(_ more: any DatabaseValueConvertible...) -> StatementArguments {
        StatementArguments(values + more)
    }
}
