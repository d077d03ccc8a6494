import NIOCore
import Testing
import ZooKeeperProtocol

// Pure unit tests: no socket, no process, no timing.
@Suite("DIGEST-MD5 and the SASL records")
struct DigestMD5Tests {
    // RFC 2831 section 4, the IMAP example (password "secret").
    static let rfcChallenge = Array(
        #"realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8"#.utf8
    )
    static let rfcResponse = Array(
        (#"charset=utf-8,username="chris",realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",nc=00000001,"#
            + #"cnonce="OA6MHXh6VqTrRk",digest-uri="imap/elwood.innosoft.com","#
            + "response=d388dad90d4bbd760a152321f2143af7,qop=auth").utf8
    )

    @Test func rfc2831WorkedExampleResponseAndRspauth() {
        func value(_ rspauth: Bool) -> String {
            DigestMD5.responseValue(
                username: "chris",
                realm: "elwood.innosoft.com",
                password: "secret",
                nonce: "OA6MG9tEQGm2hh",
                cnonce: "OA6MHXh6VqTrRk",
                nonceCount: "00000001",
                digestURI: "imap/elwood.innosoft.com",
                forRspauth: rspauth
            )
        }
        #expect(value(false) == "d388dad90d4bbd760a152321f2143af7")
        #expect(value(true) == "ea40f60335c427b5527b84dbabcdfffd")
    }

    @Test func clientAnswersTheRFCChallengeByteForByte() throws {
        let client = DigestMD5ClientExchange(
            username: "chris",
            password: "secret",
            digestURI: "imap/elwood.innosoft.com",
            cnonce: "OA6MHXh6VqTrRk"
        )
        let (response, rspauth) = try client.respond(to: Self.rfcChallenge)
        #expect(response.token == Self.rfcResponse)
        #expect(rspauth == "ea40f60335c427b5527b84dbabcdfffd")
        try DigestMD5ClientExchange.verifyFinal(
            Array("rspauth=ea40f60335c427b5527b84dbabcdfffd".utf8),
            expectedRspauth: rspauth
        )
        #expect(throws: DigestMD5Error.self) {
            try DigestMD5ClientExchange.verifyFinal(
                Array("rspauth=ea40f60335c427b5527b84dbabcdfffe".utf8),
                expectedRspauth: rspauth
            )
        }
    }

    @Test func serverVerifiesTheRFCResponse() throws {
        let server = DigestMD5ServerExchange(
            realm: "elwood.innosoft.com",
            nonce: "OA6MG9tEQGm2hh",
            digestURI: "imap/elwood.innosoft.com"
        )
        let (user, final) = try server.verify(responseToken: Self.rfcResponse) { $0 == "chris" ? "secret" : nil }
        #expect(user == "chris")
        #expect(final == Array("rspauth=ea40f60335c427b5527b84dbabcdfffd".utf8))
    }

    // Computed by an independent implementation, Python's pure-sasl 0.6.2 (kazoo's SASL library), answering
    // a challenge in ZooKeeper's form for bob/secret with cnonce "4745706786885481".
    static let pureSaslChallenge = Array(
        #"realm="zk-sasl-md5",nonce="PuZMRfPKvCR7d1xEF4sXfaIB4A2HHUPFBxOlmgO+",charset=utf-8,algorithm=md5-sess"#
            .utf8
    )
    static let pureSaslResponse = Array(
        (#"qop=auth,realm="zk-sasl-md5",username="bob",nonce="PuZMRfPKvCR7d1xEF4sXfaIB4A2HHUPFBxOlmgO+","#
            + #"cnonce="4745706786885481",nc=00000001,digest-uri="zookeeper/zk-sasl-md5","#
            + "response=f078a7cf06f1836108651f21db2238d7").utf8
    )

    @Test func serverAcceptsPureSaslsResponseAndProvesItself() throws {
        let server = DigestMD5ServerExchange(nonce: "PuZMRfPKvCR7d1xEF4sXfaIB4A2HHUPFBxOlmgO+")
        let (user, final) = try server.verify(responseToken: Self.pureSaslResponse) { $0 == "bob" ? "secret" : nil }
        #expect(user == "bob")
        #expect(final == Array("rspauth=2db0fb1f65498b0bddb91deafbdbb001".utf8))
    }

    @Test func clientComputesWhatPureSaslComputes() throws {
        let client = DigestMD5ClientExchange(username: "bob", password: "secret", cnonce: "4745706786885481")
        let (response, rspauth) = try client.respond(to: Self.pureSaslChallenge)
        #expect(response.response == "f078a7cf06f1836108651f21db2238d7")
        #expect(response.digestURI == "zookeeper/zk-sasl-md5")
        #expect(response.realm == "zk-sasl-md5")
        #expect(response.charset == "utf-8")
        #expect(rspauth == "2db0fb1f65498b0bddb91deafbdbb001")
    }

    @Test func wrongPasswordAndUnknownUserAreWrongCredentials() throws {
        let server = DigestMD5ServerExchange(nonce: "n1")
        let client = DigestMD5ClientExchange(username: "bob", password: "not-secret", cnonce: "c1")
        let (response, _) = try client.respond(to: server.challengeToken)
        let wrong = #expect(throws: DigestMD5Error.self) {
            _ = try server.verify(responseToken: response.token) { $0 == "bob" ? "secret" : nil }
        }
        #expect(wrong?.kind == .wrongCredentials)
        let unknown = #expect(throws: DigestMD5Error.self) {
            _ = try server.verify(responseToken: response.token) { _ in nil }
        }
        #expect(unknown?.kind == .wrongCredentials)
    }

    @Test func serverRefusesAResponseToAnotherNonceOrURI() throws {
        let server = DigestMD5ServerExchange(nonce: "mine")
        let other = DigestMD5ServerExchange(nonce: "theirs")
        let client = DigestMD5ClientExchange(username: "bob", password: "secret", cnonce: "c")
        let (response, _) = try client.respond(to: other.challengeToken)
        let e = #expect(throws: DigestMD5Error.self) {
            _ = try server.verify(responseToken: response.token) { _ in "secret" }
        }
        #expect(e?.kind == .mismatch)
        let wrongURI = DigestMD5ClientExchange(username: "bob", password: "secret", digestURI: "imap/x", cnonce: "c")
        let (r2, _) = try wrongURI.respond(to: server.challengeToken)
        #expect(throws: DigestMD5Error.self) { _ = try server.verify(responseToken: r2.token) { _ in "secret" } }
    }

    @Test func roundTripWithRandomNonces() throws {
        let server = DigestMD5ServerExchange()
        let client = DigestMD5ClientExchange(username: "zkstorm", password: "pä55wörd\u{1F511}")
        #expect(server.nonce.count == 32 && client.cnonce.count == 32 && server.nonce != client.cnonce)
        let (response, rspauth) = try client.respond(to: server.challengeToken)
        let (user, final) = try server.verify(responseToken: response.token) { _ in "pä55wörd\u{1F511}" }
        #expect(user == "zkstorm")
        try DigestMD5ClientExchange.verifyFinal(final, expectedRspauth: rspauth)
    }

    @Test func serverChallengeHasZooKeepersDirectives() throws {
        let token = DigestMD5ServerExchange(nonce: "abc").challengeToken
        #expect(token == Array(#"realm="zk-sasl-md5",nonce="abc",qop="auth",charset=utf-8,algorithm=md5-sess"#.utf8))
        let challenge = try DigestMD5Challenge(parsing: token)
        #expect(challenge.realms == ["zk-sasl-md5"] && challenge.nonce == "abc" && challenge.qop == ["auth"])
    }

    @Test func challengeRules() throws {
        // qop absent means auth (RFC 2831 2.1.1).
        #expect(try DigestMD5Challenge(parsing: Array(#"nonce="n",algorithm=md5-sess"#.utf8)).qop == ["auth"])
        let authInt = #expect(throws: DigestMD5Error.self) {
            _ = try DigestMD5ClientExchange(username: "u", password: "p").respond(
                to: Array(#"nonce="n",qop="auth-int,auth-conf",algorithm=md5-sess"#.utf8)
            )
        }
        #expect(authInt?.kind == .unsupported)
        let md5 = #expect(throws: DigestMD5Error.self) {
            _ = try DigestMD5Challenge(parsing: Array(#"nonce="n",algorithm=md5"#.utf8))
        }
        #expect(md5?.kind == .unsupported)
        let noNonce = #expect(throws: DigestMD5Error.self) {
            _ = try DigestMD5Challenge(parsing: Array(#"realm="r",algorithm=md5-sess"#.utf8))
        }
        #expect(noNonce?.kind == .missingDirective)
        #expect(
            try DigestMD5Challenge(parsing: Array(#"qop="auth, auth-int",nonce="n",algorithm=md5-sess"#.utf8)).qop == [
                "auth", "auth-int",
            ]
        )
    }

    @Test func directiveParserHandlesQuotingSpacesAndEmptyElements() throws {
        let d = try DigestMD5Directives(
            parsing: Array(" Realm = \"a,\\\"b\\\\\" ,, nonce=\"x y\" ,\tqop=auth , realm=\"second\"".utf8)
        )
        #expect(d["realm"] == #"a,"b\"#)
        #expect(d["REALM"] == #"a,"b\"#)
        #expect(d.values("realm") == [#"a,"b\"#, "second"])
        #expect(d["nonce"] == "x y")
        #expect(d["qop"] == "auth")
        // Encoding escapes what it must; parsing the encoding gives the same directives back.
        #expect(try DigestMD5Directives(parsing: d.encoded) == d)
        #expect(try DigestMD5Directives(parsing: []).directives.isEmpty)
    }

    @Test(arguments: [#"nonce="unterminated"#, "nonce", "=x", #"a="b"c"#, "a=b c=d"])
    func directiveParserRejectsMalformedTokens(_ text: String) {
        let e = #expect(throws: DigestMD5Error.self) { _ = try DigestMD5Directives(parsing: Array(text.utf8)) }
        #expect(e?.kind == .malformed)
    }

    @Test func getSASLRequestFrameBytes() throws {
        let token: [UInt8] = [0x61, 0x62]
        var frame = ByteBuffer()
        ZooKeeperRequest.sasl(token: token).encodeFrame(xid: 1, into: &frame)
        // length 14 | xid 1 | type 102 | buffer length 2 | "ab"
        let expected: [UInt8] = [
            0, 0, 0, 14, 0, 0, 0, 1, 0, 0, 0, 102, 0, 0, 0, 2, 0x61, 0x62,
        ]
        #expect(Array(frame.readableBytesView) == expected)
        var body = GetSASLRequest(token: token).encodedBytes()
        #expect(Array(body.readableBytesView) == Array(expected[12...]))
        #expect(try GetSASLRequest(from: &body) == GetSASLRequest(token: token))
        // The client's first DIGEST-MD5 token is empty, not null.
        #expect(Array(GetSASLRequest(token: []).encodedBytes().readableBytesView) == [0, 0, 0, 0])
    }

    @Test func setSASLResponseDecodes() throws {
        var body = ByteBuffer(bytes: [0, 0, 0, 3, 0x72, 0x3d, 0x31])
        #expect(try SetSASLResponse(from: &body) == SetSASLResponse(token: Array("r=1".utf8)))
        var null = ByteBuffer(bytes: [0xff, 0xff, 0xff, 0xff])
        #expect(try SetSASLResponse(from: &null) == SetSASLResponse(token: nil))
        var truncated = ByteBuffer(bytes: [0, 0, 0, 9, 1])
        #expect(throws: JuteDecodingError.self) { _ = try SetSASLResponse(from: &truncated) }
        var reply = ByteBuffer(bytes: [0, 0, 0, 2, 0x6f, 0x6b])
        #expect(try ZooKeeperResponse.decode(opCode: .sasl, from: &reply) == .sasl(token: Array("ok".utf8)))
    }

    @Test func latin1RuleForNonASCIIUserNames() {
        // "é" fits ISO 8859-1, so it is hashed as the single byte 0xE9; this differs from hashing UTF-8.
        let a = DigestMD5.responseValue(
            username: "é",
            realm: "r",
            password: "p",
            nonce: "n",
            cnonce: "c",
            nonceCount: "00000001",
            digestURI: "x/y"
        )
        let b = DigestMD5.responseValue(
            username: "\u{00C3}\u{00A9}",
            realm: "r",
            password: "p",
            nonce: "n",
            cnonce: "c",
            nonceCount: "00000001",
            digestURI: "x/y"
        )
        #expect(a != b)
        #expect(DigestMD5.nonceCount(1) == "00000001" && DigestMD5.nonceCount(0x1ab) == "000001ab")
    }
}

@Suite("digest ACL ids")
struct DigestAuthTests {
    // ZooKeeper's own documented example: DigestAuthenticationProvider.generateDigest("super:test").
    @Test func matchesZooKeepersDocumentedSuperDigest() {
        #expect(DigestAuth.identity(user: "super", password: "test") == "super:D/InIHSb7yEEbrWz8b9l71RjZJU=")
    }

    @Test func userIsEverythingBeforeTheFirstColon() {
        #expect(DigestAuth.identity(credentials: Array("a:b:c".utf8)).hasPrefix("a:"))
        #expect(DigestAuth.credentials(user: "u", password: "p") == Array("u:p".utf8))
    }
}
