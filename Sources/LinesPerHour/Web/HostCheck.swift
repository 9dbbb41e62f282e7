import Hummingbird

/// Answers only requests whose `Host` is one the daemon serves: an IP
/// address, `localhost`, or a name given with `--allowed-host`.
///
/// DNS rebinding points a name the attacker controls at 127.0.0.1, so that a
/// page of theirs becomes "same-origin" with the daemon; its requests still
/// carry the attacker's name in `Host`, and are refused here (421) before any
/// route, cookie or token is looked at.
struct HostCheck<Context: RequestContext>: RouterMiddleware {
    /// Lowercased names served besides IP addresses and `localhost`.
    let allowedNames: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let authority = request.head.authority, isServed(authority) else {
            throw APIError(.misdirectedRequest, "this daemon does not serve that Host; start it with --allowed-host NAME to serve a name")
        }
        return try await next(request, context)
    }

    /// `host[:port]` or `[v6]:port`: is the host part served?
    func isServed(_ authority: String) -> Bool {
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return false }
            let address = authority[authority.index(after: authority.startIndex)..<close]
            return address.contains(":") && address.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
        }
        let host = (authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").lowercased()
        return host == "localhost" || allowedNames.contains(host) || Self.isIPv4(host)
    }

    private static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { $0.count >= 1 && $0.count <= 3 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) && Int($0)! <= 255 }
    }
}
