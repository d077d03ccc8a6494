import Testing
import ZooKeeperProtocol

/// ZooKeeperPath.validate against the rules of ZooKeeper's `PathUtils.validatePath` (3.8), which
/// walks the path as UTF-16 code units.
@Suite("Path validation")
struct PathValidationTests {
    static let valid: [String] = [
        "/", "/a", "/a/b", "/zkstorm/run-1/key-0000000001", "/...", "/a/...", "/.a", "/a.", "/a/.b/c", "/..a",
        "/a..", "/a/b..c", "/ü", "/路径", "/with space", "/tab-free", "/\u{A0}", "/\u{F900}", "/\u{FFEF}",
        "/a/\u{7E}",
    ]

    static let invalid: [(path: String, rule: String)] = [
        ("", "empty"),
        ("a", "not absolute"),
        ("a/b", "not absolute"),
        ("/a/", "trailing /"),
        ("//", "trailing /"),
        ("//a", "empty node name"),
        ("/a//b", "empty node name"),
        ("/.", "relative ."),
        ("/..", "relative .."),
        ("/a/.", "relative ."),
        ("/a/..", "relative .."),
        ("/a/./b", "relative ."),
        ("/a/../b", "relative .."),
        ("/./a", "relative ."),
        ("/../a", "relative .."),
        ("/a\u{0}b", "null"),
        ("/\u{0}", "null"),
        ("/a\u{1}", "control U+0001"),
        ("/a\u{1F}", "control U+001F"),
        ("/a\nb", "newline"),
        ("/a\tb", "tab"),
        ("/a\u{7F}", "DEL"),
        ("/a\u{80}", "C1 control"),
        ("/a\u{9F}", "C1 control"),
        ("/a\u{E000}", "private use"),
        ("/a\u{F8FF}", "private use"),
        ("/a\u{FFF0}", "specials"),
        ("/a\u{FFFD}", "replacement character"),
        ("/a\u{FFFF}", "noncharacter"),
        // Java sees characters outside the BMP as surrogate pairs (U+D800...U+DFFF), which it refuses.
        ("/a\u{1F642}", "emoji (surrogate pair)"),
        ("/\u{10000}", "supplementary plane"),
    ]

    @Test(arguments: valid)
    func acceptsWhatZooKeeperAccepts(_ path: String) throws {
        try ZooKeeperPath.validate(path)
    }

    @Test(arguments: invalid.map(\.path))
    func refusesWhatZooKeeperRefuses(_ path: String) {
        #expect(throws: InvalidPathError.self) { try ZooKeeperPath.validate(path) }
    }

    /// The same paths sent to the real ZooKeeper in create requests (scripts/capture-fixtures).
    @Test func agreesWithTheRealServer() throws {
        for (path, sequential, err) in CapturedFixtures.pathVerdicts {
            let accepted = (try? ZooKeeperPath.validate(path, sequential: sequential)) != nil
            switch ErrorCode(err) {
            case .ok, .nodeExists:
                #expect(accepted, "server accepted \(path.debugDescription) sequential=\(sequential)")
            case .badArguments:
                #expect(!accepted, "server refused \(path.debugDescription) sequential=\(sequential)")
            case .noNode:
                // The server looks up the parent (everything before the last "/") before it applies
                // PathUtils.validatePath, so "/a//b" or "/../a" get NONODE. Those paths break the rules.
                #expect(!accepted, "\(path.debugDescription) sequential=\(sequential) breaks PathUtils' rules")
            default:
                Issue.record("unexpected answer \(ErrorCode(err)) for \(path.debugDescription)")
            }
        }
        #expect(CapturedFixtures.pathVerdicts.count > 50)
    }

    @Test func sequentialAllowsATrailingSlash() throws {
        // The server appends the sequence number, so "/a/" names "/a/0000000001".
        try ZooKeeperPath.validate("/a/", sequential: true)
        try ZooKeeperPath.validate("/a/b-", sequential: true)
        try ZooKeeperPath.validate("/", sequential: true)
        #expect(throws: InvalidPathError.self) { try ZooKeeperPath.validate("/a//", sequential: true) }
        #expect(throws: InvalidPathError.self) { try ZooKeeperPath.validate("", sequential: true) }
        #expect(throws: InvalidPathError.self) { try ZooKeeperPath.validate("a", sequential: true) }
        // "/.." + "1" is "/..1": a legal name.
        try ZooKeeperPath.validate("/..", sequential: true)
    }

    @Test func theCapturedBadPathIsRefusedLocally() {
        // The real server answered BADARGUMENTS to "/zkstorm/" (fixture createBadPath).
        #expect(throws: InvalidPathError(path: "/zkstorm/", rule: "path must not end with /")) {
            try ZooKeeperPath.validate("/zkstorm/")
        }
    }

    @Test func errorsNameThePathAndTheRule() {
        #expect(throws: InvalidPathError(path: "/a//b", rule: "empty node name at 3")) {
            try ZooKeeperPath.validate("/a//b")
        }
        #expect(throws: InvalidPathError(path: "/a/..", rule: "relative path segment \"..\" at 3")) {
            try ZooKeeperPath.validate("/a/..")
        }
        #expect(throws: InvalidPathError(path: "/a\u{1}", rule: "invalid character U+1 at 2")) {
            try ZooKeeperPath.validate("/a\u{1}")
        }
        #expect(
            InvalidPathError(path: "x", rule: "path must start with /").description
                == "invalid path \"x\": path must start with /"
        )
    }

    @Test func parentNameAndJoin() {
        #expect(ZooKeeperPath.parent(of: "/a/b/c") == "/a/b")
        #expect(ZooKeeperPath.parent(of: "/a") == "/")
        #expect(ZooKeeperPath.parent(of: "/") == "/")
        #expect(ZooKeeperPath.name(of: "/a/b") == "b")
        #expect(ZooKeeperPath.name(of: "/") == "")
        #expect(ZooKeeperPath.join("/", "a") == "/a")
        #expect(ZooKeeperPath.join("/a", "b") == "/a/b")
    }
}
