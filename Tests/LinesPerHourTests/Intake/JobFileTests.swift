import Foundation
import Testing
@testable import LinesPerHour

@Suite struct JobFileTests {
    func parse(_ name: String, _ text: String) throws(Rejection) -> JobRequest {
        try JobFile.parse(name: name, bytes: Array(text.utf8))
    }

    func reason(_ name: String, _ bytes: [UInt8]) -> String? {
        do {
            _ = try JobFile.parse(name: name, bytes: bytes)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func jsonWithEveryKey() throws {
        let r = try parse("x.json", #"{"project": "EmailScrapper", "specification": " Scrape ", "user": "alice@example.com"}"#)
        #expect(r == JobRequest(project: "EmailScrapper", specification: "Scrape", user: "alice@example.com"))
    }

    @Test func jsonProjectDefaultsToTheStem() throws {
        #expect(try parse("Greeter.json", #"{"specification": "hi"}"#).project == "Greeter")
    }

    @Test func markdownBodyAndStem() throws {
        let r = try parse("Notes-1.md", "# Build\n\nA tool.\n")
        #expect(r.project == "Notes-1")
        #expect(r.specification == "# Build\n\nA tool.")
        #expect(r.user == nil)
    }

    @Test func frontMatterSetsProjectAndUser() throws {
        let r = try parse("spec.txt", "---\nproject: \"Other\"\nuser: bob@example.com\n---\nDo it.\n")
        #expect(r == JobRequest(project: "Other", specification: "Do it.", user: "bob@example.com"))
    }

    @Test func agentProfileByKeyAndFrontMatter() throws {
        #expect(try parse("a.json", #"{"specification": "x", "agent": "stream-json"}"#).agent == .streamJSON)
        #expect(try parse("a.md", "---\nagent: speckit\n---\nx").agent == .speckit)
        #expect(try parse("a.md", "x").agent == nil)
    }

    @Test(arguments: [
        ("a.json", #"{"specification": "x", "priority": 1}"#, #"unknown key "priority""#),
        ("a.json", #"{"specification": "x", "agent": "gpt"}"#, #"unknown agent profile "gpt" (known: command, speckit, stream-json)"#),
        ("a.md", "---\nagent: \n---\nx", #"unknown agent profile """#),
        ("a.json", #"{"specification": "x""#, "malformed JSON"),
        ("a.json", #"["x"]"#, "top level must be an object"),
        ("a.json", #"{"specification": 3}"#, #"key "specification" must be a string"#),
        ("a.json", #"{"project": "p"}"#, #"missing key "specification""#),
        ("a.json", #"{"specification": "  \n "}"#, "empty specification"),
        ("a.md", "", "empty specification"),
        ("a.md", "---\nproject: p\n", "no closing '---'"),
        ("a.md", "---\nproject p\n---\nx", "not 'key: value'"),
        ("a.md", "---\nowner: p\n---\nx", #"unknown front matter key "owner""#),
        ("a.yaml", "x", "unsupported file type"),
        ("a.json", #"{"project": "../etc", "specification": "x"}"#, "invalid project name"),
        ("a.json", #"{"project": "a/b", "specification": "x"}"#, "invalid project name"),
        ("a.json", #"{"project": "-x", "specification": "x"}"#, "invalid project name"),
        ("a.json", #"{"project": "a..b", "specification": "x"}"#, "invalid project name"),
        ("a.json", "{\"project\": \"\(String(repeating: "p", count: 65))\", \"specification\": \"x\"}", "invalid project name"),
    ])
    func rejected(name: String, text: String, expected: String) {
        let why = reason(name, Array(text.utf8))
        #expect(why?.contains(expected) == true, "\(name): got \(why ?? "accepted")")
    }

    @Test func notUTF8() {
        #expect(reason("a.md", [0x66, 0xff, 0xfe, 0x0a]) == "file is not valid UTF-8")
    }

    @Test func overOneMebibyte() {
        let bytes = [UInt8](repeating: 0x61, count: Limits.maxSpecification + 1)
        #expect(reason("a.md", bytes)?.contains("larger than 1 MiB") == true)
        #expect(reason("a.md", Array(bytes.dropLast())) == nil)
    }

    @Test func projectNames() {
        #expect(ProjectName.isValid("EmailScrapper"))
        #expect(ProjectName.isValid("a.b_c-9"))
        #expect(ProjectName.isValid(String(repeating: "x", count: 64)))
        #expect(!ProjectName.isValid(""))
        #expect(!ProjectName.isValid(".hidden"))
        #expect(!ProjectName.isValid("ünïcode"))
    }

    @Test func ignoredNames() {
        for name in [".x.json", "x.json.tmp", "x.part", "x.md~"] { #expect(JobFile.isIgnored(name)) }
        #expect(!JobFile.isIgnored("x.json"))
    }
}
