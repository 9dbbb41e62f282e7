/// The names a project may have: a folder under `generated_projects/`, and the
/// files in it the daemon itself makes there.
enum ProjectName {
    /// `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`, and never `..`.
    static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count), isAlphanumeric(bytes[0]),
              !zip(bytes, bytes.dropFirst()).contains(where: { $0 == UInt8(ascii: ".") && $1 == UInt8(ascii: ".") }) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// The prefix of the index's barrier cookies: files the daemon makes in a
    /// project for a moment, which are never indexed nor counted as a job's.
    static let cookiePrefix = ".lph-cookie-"

    private static func isAlphanumeric(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
    }
}
