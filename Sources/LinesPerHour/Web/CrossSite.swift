import Hummingbird

/// What a browser's request says of the page that sent it.
///
/// Cookies do not separate ports: a page on `http://127.0.0.1:<another port>`
/// gets the dashboard's cookie sent with its requests. So a state-changing
/// request that the cookie authenticates must show it comes from the
/// dashboard itself: `Sec-Fetch-Site: same-origin` (or, from a browser too old
/// to send it, an `Origin` equal to the daemon's own), and a JSON body, which
/// a cross-origin form or `no-cors` fetch cannot send without a preflight the
/// daemon never grants. A bearer token in a header needs none of this: no
/// browser adds it by itself.
enum CrossSite {
    /// Throws 403 unless an unsafe cookie-authenticated request comes from the dashboard.
    static func requireDashboard(_ request: Request) throws {
        guard ![.get, .head, .options].contains(request.method) else { return }
        guard comesFromSameOrigin(request) else {
            throw APIError(.forbidden, "a request signed in by the dashboard's cookie must come from the dashboard's own page")
        }
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
            throw APIError(.unsupportedMediaType, "the dashboard's requests are application/json")
        }
    }

    /// A `?token=` sign-in sets the cookie only when the address was opened
    /// directly (typed, pasted, from a terminal) or from the dashboard: a page
    /// elsewhere must not sign the browser in as someone else.
    static func maySignIn(_ request: Request) -> Bool {
        switch secFetchSite(request) {
        case nil, "none", "same-origin": true
        default: false
        }
    }

    private static func secFetchSite(_ request: Request) -> String? {
        request.headers[.init("Sec-Fetch-Site")!]?.lowercased()
    }

    private static func comesFromSameOrigin(_ request: Request) -> Bool {
        if let site = secFetchSite(request) { return site == "same-origin" }
        guard let origin = request.headers[.origin], let authority = request.head.authority else { return false }
        return origin.lowercased() == "http://" + authority.lowercased()
    }
}
