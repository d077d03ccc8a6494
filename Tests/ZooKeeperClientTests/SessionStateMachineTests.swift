import Testing
import ZooKeeperProtocol

@testable import ZooKeeperClient

/// One transition per test, as postgres-nio tests its connection state machine.
@Suite("Session state machine")
struct SessionStateMachineTests {
    let a = HostPort(host: "a", port: 1)
    let b = HostPort(host: "b", port: 2)
    let second: UInt64 = 1_000_000_000

    func machine(hosts: [HostPort]? = nil) -> SessionStateMachine {
        SessionStateMachine(
            hosts: hosts ?? [a, b],
            requestedTimeoutMs: 4000,
            connectTimeoutNanos: 1_000_000_000
        )
    }

    let accepted = ConnectResponse(
        timeOut: 4000,
        sessionId: 0x42,
        password: [UInt8](repeating: 7, count: 16),
        readOnly: false
    )
    let rejected = ConnectResponse.rejected(readOnly: false)

    /// A machine with an established session on host a, attempt 1.
    func connected() -> SessionStateMachine {
        var m = machine()
        _ = m.start()
        _ = m.handshakeReceived(accepted, attempt: 1, now: 0)
        return m
    }

    @Test func startConnectsToFirstHost() {
        var m = machine()
        #expect(m.start() == .connect(a, attempt: 1, timeoutNanos: 1_000_000_000, delayNanos: 0))
        #expect(m.state == .connecting(hostIndex: 0, tried: 1))
    }

    @Test func startTwiceDoesNothing() {
        var m = machine()
        _ = m.start()
        #expect(m.start() == .none)
    }

    @Test func firstHandshakeStartsSession() {
        var m = machine()
        _ = m.start()
        #expect(m.handshakeReceived(accepted, attempt: 1, now: 0) == .sessionStarted)
        #expect(m.state == .connected(hostIndex: 0))
        #expect(m.sessionId == 0x42)
        #expect(m.negotiatedTimeoutMs == 4000)
    }

    @Test func handshakeOfStaleAttemptIsIgnored() {
        var m = machine()
        _ = m.start()
        #expect(m.handshakeReceived(accepted, attempt: 7, now: 0) == .none)
    }

    @Test func failedFirstAttemptTriesNextHost() {
        var m = machine()
        _ = m.start()
        #expect(
            m.connectFailed(attempt: 1, reason: "refused", now: 0)
                == .connect(b, attempt: 2, timeoutNanos: 1_000_000_000, delayNanos: 0)
        )
    }

    @Test func allHostsFailingFailsConnectNamingThem() {
        var m = machine()
        _ = m.start()
        _ = m.connectFailed(attempt: 1, reason: "refused", now: 0)
        guard case .failConnect(let error) = m.connectFailed(attempt: 2, reason: "b: refused", now: 0) else {
            Issue.record("expected failConnect")
            return
        }
        #expect(error.code == .connectionLoss)
        #expect(error.message.contains("a:1, b:2"))
        #expect(error.message.contains("b: refused"))
        #expect(m.state == .closed)
    }

    @Test func connectRequestCarriesSessionAfterStart() {
        let m = connected()
        let request = m.connectRequest(lastZxidSeen: 99)
        #expect(request.sessionId == 0x42)
        #expect(request.password == [UInt8](repeating: 7, count: 16))
        #expect(request.lastZxidSeen == 99)
        #expect(request.readOnly == false)
        #expect(request.timeOut == 4000)
    }

    @Test func lossOfConnectedSessionReconnectsToNextHost() {
        var m = connected()
        let action = m.connectionLost(attempt: 1, reason: "reset", now: 10 * second)
        #expect(action == .connectionLost(next: .connect(b, attempt: 2, timeoutNanos: 1_000_000_000, delayNanos: 0)))
        #expect(m.state == .reconnecting(hostIndex: 1, deadline: 14 * second))
    }

    @Test func reconnectHandshakeResumesSession() {
        var m = connected()
        _ = m.connectionLost(attempt: 1, reason: "reset", now: 0)
        #expect(m.handshakeReceived(accepted, attempt: 2, now: 1) == .sessionResumed)
        #expect(m.state == .connected(hostIndex: 1))
    }

    @Test func rejectedReconnectExpiresSession() {
        var m = connected()
        _ = m.connectionLost(attempt: 1, reason: "reset", now: 0)
        guard case .expire = m.handshakeReceived(rejected, attempt: 2, now: 1) else {
            Issue.record("expected expire")
            return
        }
        #expect(m.state == .expired)
    }

    @Test func failedReconnectPausesAfterEveryHostFailed() {
        var m = connected()
        _ = m.connectionLost(attempt: 1, reason: "reset", now: 0)
        #expect(
            m.connectFailed(attempt: 2, reason: "refused", now: second)
                == .connect(a, attempt: 3, timeoutNanos: 1_000_000_000, delayNanos: 0)
        )
        #expect(
            m.connectFailed(attempt: 3, reason: "refused", now: second)
                == .connect(b, attempt: 4, timeoutNanos: 1_000_000_000, delayNanos: 100_000_000)
        )
    }

    @Test func reconnectAttemptTimeoutShrinksToSessionDeadline() {
        var m = connected()
        _ = m.connectionLost(attempt: 1, reason: "reset", now: 0)
        let action = m.connectFailed(attempt: 2, reason: "refused", now: 3_500_000_000)
        #expect(action == .connect(a, attempt: 3, timeoutNanos: 500_000_000, delayNanos: 0))
    }

    @Test func reconnectPastSessionTimeoutExpires() {
        var m = connected()
        _ = m.connectionLost(attempt: 1, reason: "reset", now: 0)
        guard case .expire(let reason) = m.connectFailed(attempt: 2, reason: "refused", now: 5 * second) else {
            Issue.record("expected expire")
            return
        }
        #expect(reason.contains("4000 ms"))
        #expect(reason.contains("refused"))
        #expect(m.state == .expired)
    }

    @Test func lossEventOfOldConnectionIsIgnored() {
        var m = connected()
        _ = m.connectionLost(attempt: 1, reason: "reset", now: 0)
        #expect(m.connectionLost(attempt: 1, reason: "late", now: 0) == .none)
    }

    @Test func closeWhileConnectedSendsCloseSession() {
        var m = connected()
        #expect(m.closeRequested() == .sendCloseSession)
        #expect(m.state == .closing)
    }

    @Test func closeReplyFinishesClose() {
        var m = connected()
        _ = m.closeRequested()
        #expect(m.closeCompleted() == .closeNow)
        #expect(m.state == .closed)
    }

    @Test func connectionDropWhileClosingFinishesClose() {
        var m = connected()
        _ = m.closeRequested()
        #expect(m.connectionLost(attempt: 1, reason: "closed", now: 0) == .closeNow)
        #expect(m.state == .closed)
    }

    @Test func closeWhileReconnectingClosesAtOnce() {
        var m = connected()
        _ = m.connectionLost(attempt: 1, reason: "reset", now: 0)
        #expect(m.closeRequested() == .closeNow)
        #expect(m.state == .closed)
    }

    @Test func closeAfterExpiryDoesNothing() {
        var m = connected()
        _ = m.connectionLost(attempt: 1, reason: "reset", now: 0)
        _ = m.handshakeReceived(rejected, attempt: 2, now: 1)
        #expect(m.closeRequested() == .none)
        #expect(m.isTerminal)
    }

    @Test func singleHostReconnectsToSameHost() {
        var m = machine(hosts: [a])
        _ = m.start()
        _ = m.handshakeReceived(accepted, attempt: 1, now: 0)
        #expect(
            m.connectionLost(attempt: 1, reason: "reset", now: 0)
                == .connectionLost(next: .connect(a, attempt: 2, timeoutNanos: 1_000_000_000, delayNanos: 0))
        )
    }
}

@Suite("Watch registry")
struct RegisteredWatchesTests {
    @Test func existsOnMissingNodeSetsExistWatch() {
        var r = RegisteredWatches()
        r.register(.exists, path: "/a", result: .noNode)
        #expect(r.existWatches == ["/a"])
        #expect(r.dataWatches.isEmpty)
    }

    @Test func existsOnPresentNodeSetsDataWatch() {
        var r = RegisteredWatches()
        r.register(.exists, path: "/a", result: .ok)
        #expect(r.dataWatches == ["/a"])
    }

    @Test func failedGetDataSetsNoWatch() {
        var r = RegisteredWatches()
        r.register(.data, path: "/a", result: .noNode)
        r.register(.child, path: "/a", result: .noNode)
        #expect(r.isEmpty)
    }

    @Test func eventsRemoveOneShotWatchesButNotPersistent() {
        var r = RegisteredWatches()
        r.register(.data, path: "/a", result: .ok)
        r.register(.child, path: "/a", result: .ok)
        r.register(.persistent, path: "/a", result: .ok)
        r.fired(.nodeDataChanged, path: "/a")
        #expect(r.dataWatches.isEmpty)
        #expect(r.childWatches == ["/a"])
        r.fired(.nodeDeleted, path: "/a")
        #expect(r.childWatches.isEmpty)
        #expect(r.persistentWatches == ["/a"])
    }

    @Test func removeWatchesForgetsThem() {
        var r = RegisteredWatches()
        r.register(.child, path: "/a", result: .ok)
        r.register(.persistentRecursive, path: "/a", result: .ok)
        r.register(.remove(.children), path: "/a", result: .ok)
        #expect(r.childWatches.isEmpty)
        r.register(.remove(.any), path: "/a", result: .ok)
        #expect(r.isEmpty)
    }

    @Test func setWatchesSplitsIntoBatches() {
        var r = RegisteredWatches()
        for i in 0..<5000 { r.register(.data, path: "/some/longish/path/\(i)", result: .ok) }
        r.register(.persistentRecursive, path: "/rec", result: .ok)
        let batches = r.setWatchesBatches(relativeZxid: 77, maxFrameLength: 16 * 1024)
        #expect(batches.count > 1)
        #expect(batches.allSatisfy { $0.relativeZxid == 77 })
        #expect(batches.reduce(0) { $0 + $1.dataWatches.count } == 5000)
        #expect(batches.last?.persistentRecursiveWatches == ["/rec"])
        for batch in batches {
            let size = batch.dataWatches.reduce(0) { $0 + $1.utf8.count + 4 }
            #expect(size <= 16 * 1024)
        }
    }

    @Test func noWatchesNoBatches() {
        #expect(RegisteredWatches().setWatchesBatches(relativeZxid: 1).isEmpty)
    }
}
