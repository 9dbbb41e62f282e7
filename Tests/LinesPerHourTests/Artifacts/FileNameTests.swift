import Foundation
import Testing
@testable import LinesPerHour

/// The index names files without bridging to `NSString`; it must name them as `NSString` did.
@Suite struct FileNameTests {
    @Test(arguments: ["a/b.txt", "node_modules/", "src/node_modules/", "x", "/a", "a//", "é/ü.md", "/", "d/.lph-cookie-1", "a/b/c/README"])
    func aFileNameIsWhatNSStringCallsTheLastPathComponent(_ path: String) {
        #expect(String(path.fileName) == (path as NSString).lastPathComponent)
    }
}
