import Testing

@testable import ZooKeeperClient

/// The cipher suite read from a ServerHello as it passes (swift-nio-ssl does not report it).
@Suite("ServerHello sniffer")
struct ServerHelloSnifferTests {
    /// A ServerHello record: handshake record header, handshake type 2, legacy version, 32 random bytes,
    /// a session id of `sessionID` bytes, then the cipher suite.
    static func serverHello(sessionID: Int, suite: UInt16) -> [UInt8] {
        var body: [UInt8] = [0x03, 0x03] + Array(repeating: 0xAB, count: 32) + [UInt8(sessionID)]
        body += Array(repeating: 0x11, count: sessionID) + [UInt8(suite >> 8), UInt8(suite & 0xFF), 0x00]
        let handshake: [UInt8] = [0x02, 0x00, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
        return [0x16, 0x03, 0x03, UInt8(handshake.count >> 8), UInt8(handshake.count & 0xFF)] + handshake
    }

    @Test func readsTheSuiteAfterTheSessionID() {
        for sessionID in [0, 32] {
            let hello = Self.serverHello(sessionID: sessionID, suite: 0x1301)
            #expect(ServerHelloSniffer.cipherSuite(in: hello) == .found(0x1301))
            #expect(ServerHelloSniffer.name(0x1301) == "TLS_AES_128_GCM_SHA256")
        }
        #expect(ServerHelloSniffer.name(0xC02F) == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
        #expect(ServerHelloSniffer.name(0x00FF) == "0xFF")
    }

    @Test func waitsForMoreBytesAndGivesUpOnOtherTraffic() {
        let hello = Self.serverHello(sessionID: 32, suite: 0x1302)
        for cut in [0, 3, 20, 43, 44, 76, 77] {
            #expect(ServerHelloSniffer.cipherSuite(in: Array(hello.prefix(cut))) == .needMore, "cut at \(cut)")
        }
        #expect(ServerHelloSniffer.cipherSuite(in: Array(hello.prefix(78))) == .found(0x1302))
        // A plaintext ZooKeeper reply (a 4-byte length first) or an alert record is not a ServerHello.
        #expect(ServerHelloSniffer.cipherSuite(in: [0, 0, 0, 36, 0, 0, 0, 0]) == .notServerHello)
        #expect(ServerHelloSniffer.cipherSuite(in: [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]) == .notServerHello)
    }
}
