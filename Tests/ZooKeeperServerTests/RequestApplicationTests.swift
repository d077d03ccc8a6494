import NIOCore
import Testing
import ZooKeeperProtocol

@testable import ZooKeeperServer

/// Request application without a socket: each test feeds decoded requests to a `RequestApplier` and
/// checks the response value (or error code) and the watch triggers it returns.
@Suite struct RequestApplicationTests {
    /// One client as the applier sees it: its watcher (connection) id, session and proven ids.
    struct Client {
        var watcher: Int
        var session: Int64 = 0
        var auth = ConnectionAuth(remoteHost: "127.0.0.1")
    }

    struct Harness {
        var applier = RequestApplier(tickMs: 100, wallClockMs: 1_700_000_000_000, maxSessions: 10)
        var triggers = WatchTriggers()
        var time: Int64 = 5_000

        /// A new session for a client on connection `watcher`.
        mutating func connect(_ watcher: Int) -> Client {
            let decision = applier.connect(ConnectRequest(timeOut: 1000), connection: watcher, now: 0) {
                Array(repeating: 7, count: 16)
            }
            guard case .accept(_, let session, nil) = decision else {
                Issue.record("handshake not accepted: \(decision)")
                return Client(watcher: watcher)
            }
            return Client(watcher: watcher, session: session)
        }

        /// Applies `request` for `client`; returns the outcome and the notifications it caused.
        mutating func apply(
            _ request: ZooKeeperRequest,
            by client: inout Client
        ) -> (RequestOutcome, [WatchTriggers.Fired]) {
            triggers.removeAll()
            let outcome = applier.apply(
                request,
                session: client.session,
                watcher: client.watcher,
                auth: &client.auth,
                time: time,
                triggers: &triggers
            )
            return (outcome, triggers.fired)
        }

        mutating func reply(_ request: ZooKeeperRequest, by client: inout Client) -> RequestOutcome.Reply {
            apply(request, by: &client).0.reply
        }
    }

    static func create(
        _ path: String,
        _ data: [UInt8] = [],
        mode: CreateMode = .persistent,
        acl: [ACL] = ACL.openUnsafe
    )
        -> ZooKeeperRequest
    {
        .create(CreateRequest(path: path, data: data, acl: acl, mode: mode), opCode: .create)
    }

    @Test func createGetSetDeleteReturnResponseValues() {
        var h = Harness()
        var a = h.connect(1)
        let (created, createTriggers) = h.apply(Self.create("/a", [1, 2]), by: &a)
        #expect(created == .response(.create(path: "/a"), zxid: 2))  // zxid 1 was the session
        #expect(createTriggers.isEmpty)

        guard case .response(.data(let data, let stat)) = h.reply(.getData(path: "/a", watch: false), by: &a) else {
            Issue.record("getData did not answer data")
            return
        }
        #expect(data == [1, 2])
        #expect(stat.version == 0 && stat.czxid == 2 && stat.ctime == h.time && stat.dataLength == 2)

        h.time = 6_000
        guard case .response(.stat(let updated)) = h.reply(.setData(path: "/a", data: [3], version: 0), by: &a) else {
            Issue.record("setData did not answer a Stat")
            return
        }
        #expect(updated.version == 1 && updated.mzxid == 3 && updated.mtime == 6_000 && updated.dataLength == 1)
        #expect(h.reply(.setData(path: "/a", data: [4], version: 0), by: &a) == .error(.badVersion))
        #expect(h.reply(.exists(path: "/a", watch: false), by: &a) == .response(.stat(h.applier.tree["/a"]!.stat)))
        #expect(h.reply(.delete(path: "/a", version: -1), by: &a) == .response(.empty))
        #expect(h.reply(.getData(path: "/a", watch: false), by: &a) == .error(.noNode))
        #expect(h.reply(.delete(path: "/a", version: -1), by: &a) == .error(.noNode))
        #expect(h.reply(Self.create("/missing/child"), by: &a) == .error(.noNode))
        #expect(h.reply(Self.create("/"), by: &a) == .error(.nodeExists))
    }

    @Test func create2AndChildrenCarryStats() {
        var h = Harness()
        var a = h.connect(1)
        let reply = h.reply(
            .create(CreateRequest(path: "/p", data: [9], mode: .persistent), opCode: .create2),
            by: &a
        )
        #expect(reply == .response(.create2(path: "/p", stat: h.applier.tree["/p"]!.stat)))
        _ = h.reply(Self.create("/p/x"), by: &a)
        #expect(h.reply(.getChildren(path: "/p", watch: false), by: &a) == .response(.children(["x"])))
        #expect(
            h.reply(.getChildren2(path: "/p", watch: false), by: &a)
                == .response(.children2(["x"], stat: h.applier.tree["/p"]!.stat))
        )
        #expect(h.reply(.getAllChildrenNumber(path: "/p"), by: &a) == .response(.allChildrenNumber(1)))
        #expect(h.reply(.sync(path: "/p"), by: &a) == .response(.sync(path: "/p")))
    }

    @Test func sequentialNamesCountFromTheParentsCversion() {
        var h = Harness()
        var a = h.connect(1)
        _ = h.reply(Self.create("/q"), by: &a)
        #expect(
            h.reply(Self.create("/q/n-", mode: .persistentSequential), by: &a)
                == .response(.create(path: "/q/n-0000000000"))
        )
        _ = h.reply(Self.create("/q/plain"), by: &a)
        #expect(
            h.reply(Self.create("/q/n-", mode: .ephemeralSequential), by: &a)
                == .response(.create(path: "/q/n-0000000002"))
        )
    }

    @Test func multiAppliesAllOrNothingAndEncodesFailures() throws {
        var h = Harness()
        var a = h.connect(1)
        var watcher = h.connect(2)
        _ = h.reply(.exists(path: "/m", watch: true), by: &watcher)

        let failing: ZooKeeperRequest = .multi([
            .create(CreateRequest(path: "/m", data: []), opCode: .create),
            .create(CreateRequest(path: "/m", data: []), opCode: .create),
            .delete(path: "/nothing", version: -1),
        ])
        let (outcome, fired) = h.apply(failing, by: &a)
        let expected: [MultiResult] = [.error(.ok), .error(.nodeExists), .error(.runtimeInconsistency)]
        #expect(outcome.reply == .response(.multi(expected)))
        #expect(h.applier.tree["/m"] == nil, "the first create is rolled back")
        #expect(fired.isEmpty, "a rolled-back create fires no watch")

        // The failure goes on the wire as ZooKeeper sends it: err 0 in the header, error results inside.
        var buffer = ByteBuffer()
        guard case .response(let response) = outcome.reply else { return }
        response.writeReply(xid: 5, zxid: outcome.zxid, replyingTo: .multi, into: &buffer)
        #expect(try ReplyHeader(from: &buffer) == ReplyHeader(xid: 5, zxid: outcome.zxid, err: .ok))
        #expect(try ZooKeeperResponse.decode(opCode: .multi, from: &buffer) == .multi(expected))
        #expect(buffer.readableBytes == 0)

        let succeeding: ZooKeeperRequest = .multi([
            .create(CreateRequest(path: "/m", data: [1]), opCode: .create2),
            .setData(path: "/m", data: [2], version: 0),
            .check(path: "/m", version: 1),
        ])
        let (ok, okFired) = h.apply(succeeding, by: &a)
        // Inside multi, create2 answers as a plain create (seen on 3.8).
        #expect(
            ok.reply
                == .response(.multi([.create(path: "/m"), .setData(stat: h.applier.tree["/m"]!.stat), .check]))
        )
        #expect(okFired == [.init(path: "/m", type: .nodeCreated, watchers: [2])])
        #expect(
            h.reply(.multiRead([.getData(path: "/m"), .getChildren(path: "/none")]), by: &a)
                == .response(.multi([.getData(data: [2], stat: h.applier.tree["/m"]!.stat), .error(.noNode)]))
        )
    }

    @Test func writesTriggerOneShotAndPersistentWatches() {
        var h = Harness()
        var writer = h.connect(1)
        var reader = h.connect(2)
        var follower = h.connect(3)
        _ = h.reply(Self.create("/w"), by: &writer)

        _ = h.reply(.getData(path: "/w", watch: true), by: &reader)
        _ = h.reply(.getChildren(path: "/w", watch: true), by: &reader)
        #expect(h.reply(.addWatch(path: "/", mode: .persistentRecursive), by: &follower) == .response(.empty))

        #expect(
            h.apply(.setData(path: "/w", data: [1], version: -1), by: &writer).1 == [
                .init(path: "/w", type: .nodeDataChanged, watchers: [2, 3])
            ]
        )
        // The data watch was one-shot; the recursive one stays.
        #expect(
            h.apply(.setData(path: "/w", data: [2], version: -1), by: &writer).1 == [
                .init(path: "/w", type: .nodeDataChanged, watchers: [3])
            ]
        )
        // A child's creation: the parent's child watch fires; a recursive watch hears the created node.
        #expect(
            h.apply(Self.create("/w/c"), by: &writer).1 == [
                .init(path: "/w/c", type: .nodeCreated, watchers: [3]),
                .init(path: "/w", type: .nodeChildrenChanged, watchers: [2]),
            ]
        )
        #expect(h.reply(.removeWatches(path: "/", type: .any), by: &follower) == .response(.empty))
        #expect(h.reply(.checkWatches(path: "/", type: .any), by: &follower) == .error(.noWatcher))
        #expect(h.apply(.delete(path: "/w/c", version: -1), by: &writer).1.isEmpty)
    }

    @Test func setWatchesFiresWhatTheClientMissed() {
        var h = Harness()
        var a = h.connect(1)
        var b = h.connect(2)
        _ = h.reply(Self.create("/seen"), by: &a)
        _ = h.reply(Self.create("/changed"), by: &a)
        let before = h.applier.zxid
        _ = h.reply(.setData(path: "/changed", data: [1], version: -1), by: &a)
        _ = h.reply(Self.create("/born"), by: &a)

        let request = SetWatchesRequest(
            relativeZxid: before,
            dataWatches: ["/seen", "/changed", "/gone"],
            existWatches: ["/born", "/unborn"],
            childWatches: []
        )
        let (outcome, fired) = h.apply(.setWatches(request), by: &b)
        #expect(outcome.reply == .response(.empty))
        #expect(
            fired == [
                .init(path: "/changed", type: .nodeDataChanged, watchers: [2]),
                .init(path: "/gone", type: .nodeDeleted, watchers: [2]),
                .init(path: "/born", type: .nodeCreated, watchers: [2]),
            ]
        )
        // The ones not yet missed are registered and fire later.
        #expect(
            h.apply(Self.create("/unborn"), by: &a).1 == [.init(path: "/unborn", type: .nodeCreated, watchers: [2])]
        )
    }

    @Test func closingASessionRemovesItsEphemeralsAndFiresTheirWatches() {
        var h = Harness()
        var owner = h.connect(1)
        var watcher = h.connect(2)
        _ = h.reply(Self.create("/svc"), by: &owner)
        _ = h.reply(Self.create("/svc/e", mode: .ephemeral), by: &owner)
        #expect(h.reply(.getEphemerals(prefixPath: "/"), by: &owner) == .response(.ephemerals(["/svc/e"])))
        _ = h.reply(.exists(path: "/svc/e", watch: true), by: &watcher)
        _ = h.reply(.getChildren(path: "/svc", watch: true), by: &watcher)

        let (outcome, fired) = h.apply(.closeSession, by: &owner)
        #expect(outcome.reply == .response(.empty))
        #expect(outcome.closeConnection)
        #expect(
            fired == [
                .init(path: "/svc/e", type: .nodeDeleted, watchers: [2]),
                .init(path: "/svc", type: .nodeChildrenChanged, watchers: [2]),
            ]
        )
        #expect(h.applier.tree["/svc/e"] == nil)
        let ownerAlive = h.applier.touch(session: owner.session, now: 0)
        let watcherAlive = h.applier.touch(session: watcher.session, now: 0)
        #expect(!ownerAlive, "a closed session takes no more requests")
        #expect(watcherAlive)
    }

    @Test func expiredSessionsLoseTheirEphemerals() {
        var h = Harness()
        var owner = h.connect(1)
        var watcher = h.connect(2)
        _ = h.reply(Self.create("/lock", mode: .ephemeral), by: &owner)
        _ = h.reply(.exists(path: "/lock", watch: true), by: &watcher)
        let touched = h.applier.touch(session: watcher.session, now: 1_500)
        #expect(touched)
        h.triggers.removeAll()
        // Both sessions negotiated 1000 ms at time 0 (deadline bucket 1100); only the watcher was touched since.
        let expired = h.applier.expireSessions(now: 1_300, triggers: &h.triggers)
        #expect(expired.map(\.id) == [owner.session])
        #expect(h.triggers.fired == [.init(path: "/lock", type: .nodeDeleted, watchers: [2])])
        #expect(h.applier.tree["/lock"] == nil)
    }

    @Test func aclsDecideNoAuthAndInvalidACL() {
        var h = Harness()
        var a = h.connect(1)
        var b = h.connect(2)
        let digest = AccessControl.digestIdentity(credentials: Array("user:secret".utf8))
        let acl = [ACL(perms: .all, id: Id(scheme: "digest", id: digest))]
        #expect(h.reply(Self.create("/private", [1], acl: acl), by: &a) == .response(.create(path: "/private")))
        #expect(h.reply(.getData(path: "/private", watch: false), by: &b) == .error(.noAuth))
        #expect(h.reply(.setData(path: "/private", data: [], version: -1), by: &b) == .error(.noAuth))
        #expect(h.reply(Self.create("/private/child"), by: &b) == .error(.noAuth))
        // The `auth` scheme needs an authenticated id.
        let authACL = [ACL(perms: .all, id: Id(scheme: "auth", id: ""))]
        #expect(h.reply(Self.create("/mine", acl: authACL), by: &b) == .error(.invalidACL))
        #expect(
            h.reply(Self.create("/bad", acl: [ACL(perms: .all, id: Id(scheme: "nope", id: "x"))]), by: &b)
                == .error(.invalidACL)
        )

        let auth = h.apply(.auth(AuthPacket(scheme: "digest", auth: Array("user:secret".utf8))), by: &b).0
        #expect(auth == .response(.empty, zxid: 0))
        #expect(b.auth.identities == [Id(scheme: "digest", id: digest), Id(scheme: "ip", id: "127.0.0.1")])
        #expect(h.reply(.getData(path: "/private", watch: false), by: &b) != .error(.noAuth))
        #expect(
            h.reply(.whoAmI, by: &b)
                == .response(
                    .whoAmI([
                        ClientInfo(authScheme: "digest", user: "user"), ClientInfo(authScheme: "ip", user: "127.0.0.1"),
                    ])
                )
        )
        #expect(h.reply(Self.create("/mine", acl: authACL), by: &b) == .response(.create(path: "/mine")))

        let refused = h.apply(.auth(AuthPacket(scheme: "kerberos", auth: [])), by: &a).0
        #expect(refused == .error(.authFailed, zxid: 0, closeConnection: true))
    }

    @Test func digestIdsMatchZooKeepersDigestAuthenticationProvider() {
        // The value ZooKeeper's documentation gives for `super:test`.
        #expect(
            AccessControl.digestIdentity(credentials: Array("super:test".utf8)) == "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
        )
    }

    @Test func handshakeDecisions() {
        var h = Harness()
        let first = h.connect(1)
        // Resuming on another connection moves the session there; the old connection is to be closed.
        let resumed = h.applier.connect(
            ConnectRequest(timeOut: 1000, sessionId: first.session, password: Array(repeating: 7, count: 16)),
            connection: 2,
            now: 0
        ) { [] }
        guard case .accept(let response, let session, let replacing) = resumed else {
            Issue.record("resume refused: \(resumed)")
            return
        }
        #expect(session == first.session && replacing == 1 && response.timeOut == 1000)
        let wrongPassword = h.applier.connect(
            ConnectRequest(timeOut: 1000, sessionId: first.session, password: Array(repeating: 0, count: 16)),
            connection: 3,
            now: 0
        ) { [] }
        #expect(wrongPassword == .reject(.rejected(readOnly: false)))
        let ahead = h.applier.connect(ConnectRequest(lastZxidSeen: 99, timeOut: 1000), connection: 4, now: 0) { [] }
        #expect(ahead == .refuse(.zxidAhead))
        for id in 5..<14 { _ = h.connect(id) }
        let full = h.applier.connect(ConnectRequest(timeOut: 1000), connection: 20, now: 0) { [] }
        #expect(full == .refuse(.tooManySessions))
    }

    @Test func consAbbreviationsComeFromOpCode() {
        #expect(OpCode.getChildren2.abbreviation == "GETC")
        #expect(OpCode.createTTL.abbreviation == "CREA")
        #expect(OpCode.getAllChildrenNumber.abbreviation == "GETACN")
        #expect(OpCode.notification.abbreviation == nil)
    }
}
