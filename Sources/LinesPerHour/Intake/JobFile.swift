import Foundation

/// The job file formats: parsing and every check that needs only the file.
/// (Checks that need the database, such as an unknown user, happen at claim.)
public enum JobFile {
    static let knownKeys: Set<String> = ["project", "specification", "user", "agent"]

    /// Names the spool leaves alone until they are renamed: editors' and
    /// copiers' temporary files.
    public static func isIgnored(_ name: String) -> Bool {
        name.hasPrefix(".") || name.hasSuffix(".tmp") || name.hasSuffix(".part") || name.hasSuffix("~")
    }

    public static func parse(name: String, bytes: [UInt8]) throws(Rejection) -> JobRequest {
        guard bytes.count <= Limits.maxSpecification else {
            throw Rejection("file is larger than 1 MiB (\(bytes.count) bytes)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw Rejection("file is not valid UTF-8")
        }
        let stem = (name as NSString).deletingPathExtension
        let request: JobRequest
        switch (name as NSString).pathExtension.lowercased() {
        case "json": request = try parseJSON(text, stem: stem)
        case "md", "txt": request = try parseText(text, stem: stem)
        default: throw Rejection("unsupported file type \"\(name)\": use .json, .md or .txt")
        }
        return try validated(request)
    }

    /// The checks every door applies, whichever way the request arrived.
    public static func validated(_ request: JobRequest) throws(Rejection) -> JobRequest {
        var request = request
        request.specification = request.specification.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !request.specification.isEmpty else { throw Rejection("empty specification") }
        // One limit whichever way a job comes (a job file is at most this size, so its specification is too).
        guard request.specification.utf8.count <= Limits.maxSpecification else {
            throw Rejection("specification larger than 1 MiB (\(request.specification.utf8.count) bytes)", kind: .tooLarge)
        }
        guard ProjectName.isValid(request.project) else {
            throw Rejection("invalid project name \"\(request.project)\": use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, without '..'")
        }
        if let user = request.user, user.trimmingCharacters(in: .whitespaces).isEmpty {
            throw Rejection("empty user")
        }
        return request
    }

    // MARK: - JSON

    static func parseJSON(_ text: String, stem: String) throws(Rejection) -> JobRequest {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        } catch {
            throw Rejection("malformed JSON: \(Self.describe(error))")
        }
        guard let fields = object as? [String: Any] else {
            throw Rejection("malformed JSON: the top level must be an object")
        }
        if let unknown = fields.keys.sorted().first(where: { !knownKeys.contains($0) }) {
            throw Rejection("unknown key \"\(unknown)\" (known: project, specification, user, agent)")
        }
        func string(_ key: String) throws(Rejection) -> String? {
            guard let value = fields[key] else { return nil }
            guard let s = value as? String else { throw Rejection("key \"\(key)\" must be a string") }
            return s
        }
        guard let specification = try string("specification") else {
            throw Rejection("missing key \"specification\"")
        }
        return JobRequest(project: try string("project") ?? stem, specification: specification, user: try string("user"),
                          agent: try string("agent").map(profile))
    }

    /// The profile an `agent` key names.
    public static func profile(_ name: String) throws(Rejection) -> AgentProfile {
        guard let profile = AgentProfile(rawValue: name) else {
            throw Rejection("unknown agent profile \"\(name)\" (known: \(AgentProfile.names))")
        }
        return profile
    }

    private static func describe(_ error: any Error) -> String {
        let nsError = error as NSError
        let detail = (nsError.userInfo[NSDebugDescriptionErrorKey] as? String) ?? nsError.localizedDescription
        return detail.replacingOccurrences(of: "\n", with: " ")
    }

    // MARK: - Markdown and text, with optional front matter

    static func parseText(_ text: String, stem: String) throws(Rejection) -> JobRequest {
        var request = JobRequest(project: stem, specification: text)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        guard lines.first.map({ $0.trimmingCharacters(in: .whitespaces) == "---" }) == true else { return request }
        lines.removeFirst()
        guard let close = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "---" }) else {
            throw Rejection("malformed front matter: no closing '---' line")
        }
        for (offset, line) in lines[..<close].enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let colon = trimmed.firstIndex(of: ":") else {
                throw Rejection("malformed front matter: line \(offset + 2) is not 'key: value'")
            }
            let key = trimmed[..<colon].trimmingCharacters(in: .whitespaces)
            let value = unquoted(trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            switch key {
            case "project": request.project = value
            case "user": request.user = value
            case "agent": request.agent = try profile(value)
            default: throw Rejection("unknown front matter key \"\(key)\" (known: project, user, agent)")
            }
        }
        request.specification = lines[(close + 1)...].joined(separator: "\n")
        return request
    }

    private static func unquoted(_ s: String) -> String {
        guard s.count >= 2, let first = s.first, first == s.last, first == "\"" || first == "'" else { return s }
        return String(s.dropFirst().dropLast())
    }
}
