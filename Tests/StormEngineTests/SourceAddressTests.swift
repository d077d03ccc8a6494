import Testing

@testable import StormEngine

/// Many loopback sessions from one process: past 10,000 each further 10,000 leave from the next
/// 127.0.0.x, because one source address runs out of ephemeral ports toward one server port.
@Suite("Source addresses for many loopback sessions")
struct SourceAddressTests {
    @Test func loopbackSessionsSpreadEveryTenThousand() {
        #if os(Linux)
        let target = "127.0.0.1:2181,localhost:2182"
        #expect(SessionConnector.sourceAddress(forSession: 0, connectString: target) == nil)
        #expect(SessionConnector.sourceAddress(forSession: 9_999, connectString: target) == nil)
        #expect(SessionConnector.sourceAddress(forSession: 10_000, connectString: target) == "127.0.0.2")
        #expect(SessionConnector.sourceAddress(forSession: 19_000, connectString: target) == "127.0.0.2")
        #expect(SessionConnector.sourceAddress(forSession: 20_000, connectString: target) == "127.0.0.3")
        #endif
    }

    @Test func otherTargetsKeepTheSystemsChoice() {
        #expect(SessionConnector.sourceAddress(forSession: 50_000, connectString: "zk1:2181,127.0.0.1:2181") == nil)
        #expect(SessionConnector.sourceAddress(forSession: 50_000, connectString: "10.0.0.5:2181") == nil)
        #expect(SessionConnector.sourceAddress(forSession: 50_000, connectString: "not a target::") == nil)
    }
}
