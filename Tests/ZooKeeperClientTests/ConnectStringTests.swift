import Testing
import ZooKeeperProtocol

@testable import ZooKeeperClient

@Suite("Connect string parsing")
struct ConnectStringTests {
    @Test func singleHostDefaultsPort() throws {
        let parsed = try ConnectString(parsing: "zk1")
        #expect(parsed.hosts == [HostPort(host: "zk1", port: 2181)])
        #expect(parsed.chroot == nil)
    }

    @Test func severalHostsAndChroot() throws {
        let parsed = try ConnectString(parsing: "h1:2181,h2:2182/app/x")
        #expect(parsed.hosts == [HostPort(host: "h1", port: 2181), HostPort(host: "h2", port: 2182)])
        #expect(parsed.chroot == "/app/x")
    }

    @Test func rootChrootIsNoChroot() throws {
        #expect(try ConnectString(parsing: "h1:1/").chroot == nil)
    }

    @Test func bracketedIPv6() throws {
        let parsed = try ConnectString(parsing: "[::1]:2200,[fe80::1]")
        #expect(parsed.hosts == [HostPort(host: "::1", port: 2200), HostPort(host: "fe80::1", port: 2181)])
    }

    @Test func whitespaceAroundEntriesIsIgnored() throws {
        let parsed = try ConnectString(parsing: " h1:1 , h2:2 ")
        #expect(parsed.hosts.map(\.host) == ["h1", "h2"])
    }

    @Test(arguments: [
        ("", "no host given"),
        ("h1:2181,,h2", "empty host entry"),
        ("h1:abc", "port \"abc\""),
        ("h1:0", "port \"0\""),
        ("h1:70000", "port \"70000\""),
        (":2181", "empty host name"),
        ("h1:2181/app/", "chroot"),
        ("h1:2181/a//b", "chroot"),
        ("::1:2181", "too many"),
        ("[::1", "unclosed"),
        ("h 1:2181", "space"),
    ])
    func malformedStringsNameTheBadPart(text: String, expected: String) {
        do {
            _ = try ConnectString(parsing: text)
            Issue.record("\"\(text)\" parsed")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
            #expect(error.description.contains("invalid connect string"))
        }
    }

    @Test func badPartIsNamed() {
        do {
            _ = try ConnectString(parsing: "good:1,bad:x")
            Issue.record("parsed")
        } catch {
            #expect(error.part == "bad:x")
        }
    }

    @Test func chrootIsPrependedAndStripped() throws {
        let parsed = try ConnectString(parsing: "h/app")
        #expect(parsed.serverPath("/") == "/app")
        #expect(parsed.serverPath("/a/b") == "/app/a/b")
        #expect(parsed.clientPath("/app") == "/")
        #expect(parsed.clientPath("/app/a/b") == "/a/b")
        #expect(parsed.clientPath("/apple") == "/apple")
        let none = try ConnectString(parsing: "h")
        #expect(none.serverPath("/a") == "/a")
        #expect(none.clientPath("/a") == "/a")
    }

    @Test func malformedConnectStringFailsConnect() async {
        do {
            _ = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: "h1:notaport"))
            Issue.record("connected")
        } catch let error as ZooKeeperError {
            #expect(error.code == .badArguments)
            #expect(error.message.contains("h1:notaport"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}

@Suite("Path pre-check")
struct PathCheckTests {
    @Test(arguments: ["/", "/a", "/a/b", "/a.b", "/...", "/a/.b", "/zk-0000000001"])
    func plainPathsPass(path: String) {
        #expect(PathCheck.isPlainlyValid(path))
    }

    @Test(arguments: ["", "a", "/a/", "//a", "/a//b", "/.", "/a/..", "/a/./b", "/a\u{1}", "/é"])
    func otherPathsGoToTheFullCheck(path: String) {
        #expect(!PathCheck.isPlainlyValid(path))
    }

    @Test func validationRefusesBadPathsBeforeSending() {
        #expect(throws: ZooKeeperError.self) { try ZooKeeperClient.validatePath("/a/") }
        #expect(throws: ZooKeeperError.self) { try ZooKeeperClient.validatePath("relative") }
        // Sequential creates may end in "/": the server appends the counter.
        #expect(throws: Never.self) { try ZooKeeperClient.validatePath("/a/", sequential: true) }
        // Non-ASCII names are legal and pass the full check.
        #expect(throws: Never.self) { try ZooKeeperClient.validatePath("/é") }
    }

    @Test func oversizeValueIsRefused() {
        let big = [UInt8](repeating: 0, count: 1_048_576)
        #expect(throws: ZooKeeperError.self) {
            try ZooKeeperClient.validate(.setData(path: "/a", data: big, version: -1))
        }
        #expect(throws: Never.self) {
            try ZooKeeperClient.validate(.setData(path: "/a", data: [UInt8](repeating: 0, count: 1000), version: -1))
        }
    }
}
