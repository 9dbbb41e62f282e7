extension String {
    /// The last component of a path (`a/node_modules/` → `node_modules`), as
    /// `NSString.lastPathComponent` says it but without bridging and
    /// normalising the whole path, which was a tenth of a first index's time.
    var fileName: Substring {
        var body = self[...]
        while body.utf8.count > 1, body.utf8.last == UInt8(ascii: "/") { body = body[..<body.utf8.index(before: body.utf8.endIndex)] }
        guard body.utf8.count > 1, let slash = body.utf8.lastIndex(of: UInt8(ascii: "/")) else { return body }
        return body[body.utf8.index(after: slash)...]
    }
}
