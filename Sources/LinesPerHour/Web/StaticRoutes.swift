import Crypto
import Hummingbird

/// The files shipped inside the binary: the dashboard at `/` (with its
/// scripts and styles under `/assets/`) and `/openapi.json`. None carries user
/// data, so none needs a token; the page asks for one when it has none.
enum StaticRoutes {
    struct Asset: Sendable {
        var bytes: [UInt8]
        var contentType: String
        var etag: String

        init(_ bytes: [UInt8], _ contentType: String) {
            self.bytes = bytes
            self.contentType = contentType
            etag = "\"" + SHA256.hash(data: bytes).prefix(8).map { String(format: "%02x", $0) }.joined() + "\""
        }
    }

    static let assets: [String: Asset] = [
        "app.js": Asset(PackageResources.app_js, "text/javascript; charset=utf-8"),
        "style.css": Asset(PackageResources.style_css, "text/css; charset=utf-8"),
    ]
    static let page = Asset(PackageResources.index_html, "text/html; charset=utf-8")
    static let openAPI = Asset(PackageResources.openapi_json, "application/json")

    /// Scripts and styles from this origin only; no inline code, no other origin, no framing.
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        + "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    static func add(to router: Router<APIContext>, store: any Store) {
        router.get("/") { request, _ in
            // The address `lph serve` prints carries the token once: trade it for the
            // cookie and take it out of the address bar (and the browser's history).
            // Another site's link with a token would sign the browser in as someone else: the page is served without it.
            if let token = request.uri.queryParameters.get("token"), CrossSite.maySignIn(request),
               try await store.user(tokenHash: Tokens.hash(String(token))) != nil {
                return Response(status: .seeOther, headers: [.location: "/", .setCookie: BearerAuth.cookie(for: String(token))])
            }
            return serve(page, request)
        }
        router.get("/assets/:name") { request, context in
            guard let asset = context.parameters.get("name").flatMap({ assets[$0] }) else { throw APIError(.notFound, "no such file") }
            return serve(asset, request)
        }
        router.get("/openapi.json") { request, _ in serve(openAPI, request) }
    }

    /// The asset, or 304 when the browser's copy is current; browsers revalidate each time.
    private static func serve(_ asset: Asset, _ request: Request) -> Response {
        var headers: HTTPFields = [
            .contentType: asset.contentType, .eTag: asset.etag, .cacheControl: "no-cache",
            .contentSecurityPolicy: contentSecurityPolicy, .init("X-Content-Type-Options")!: "nosniff",
            .init("Referrer-Policy")!: "no-referrer",
        ]
        if request.headers[.ifNoneMatch] == asset.etag {
            headers[.contentType] = nil
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }
}
