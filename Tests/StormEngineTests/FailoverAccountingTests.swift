import Testing
import ZooKeeperProtocol

@testable import StormEngine

/// The arithmetic of failover accounting, without a network.
@Suite("Failover accounting")
struct FailoverAccountingTests {
    @Test func reconnectTimeRunsFromDisconnectedToSyncConnected() throws {
        let accounting = FailoverAccounting()
        let health = ReconnectTracker(accounting: accounting)
        health.stateChanged(.disconnected, at: 1_000_000_000)
        // A second Disconnected before the reconnect is the same outage.
        health.stateChanged(.disconnected, at: 1_200_000_000)
        health.stateChanged(.syncConnected, at: 1_750_000_000)
        // SyncConnected without an outage (the first connect) is no reconnect.
        health.stateChanged(.syncConnected, at: 2_000_000_000)
        let summary = accounting.summary(watch: nil)
        #expect(summary.connectionLosses == 1)
        #expect(summary.reconnects == 1)
        let reconnect = try #require(summary.reconnectUs)
        #expect(reconnect.max >= 749_000 && reconnect.max <= 751_000, "\(reconnect)")
    }

    @Test func expiryEndsTheOutageWithoutAReconnect() {
        let accounting = FailoverAccounting()
        let health = ReconnectTracker(accounting: accounting)
        health.stateChanged(.disconnected, at: 10)
        health.stateChanged(.expired, at: 20)
        accounting.replaced(afterNanoseconds: 3_000_000_000)
        let summary = accounting.summary(watch: nil)
        #expect(summary.connectionLosses == 1)
        #expect(summary.reconnects == 0)
        #expect(summary.expirations == 1)
        #expect(summary.sessionsReplaced == 1)
        #expect(accounting.histograms.keys.sorted() == ["session_replacement"])
    }

    @Test func intervalsKeepWhatChangedInEachWithErrorsByCode() {
        let accounting = FailoverAccounting()
        let recorder = OperationRecorder()
        var cumulative = RecordedInterval()
        recorder.record(.get, code: .ok, nanoseconds: 1000)
        recorder.record(.get, code: .connectionLoss, nanoseconds: 1000)
        recorder.drain(into: &cumulative)
        accounting.connectionLost()
        accounting.interval(at: 1, cumulative: cumulative)
        recorder.record(.set, code: .connectionLoss, nanoseconds: 1000)
        recorder.record(.set, code: .sessionExpired, nanoseconds: 1000)
        recorder.record(.get, code: .sessionExpired, nanoseconds: 1000)
        recorder.drain(into: &cumulative)
        accounting.reconnected(afterNanoseconds: 500_000_000)
        accounting.interval(at: 2, cumulative: cumulative)
        accounting.interval(at: 3, cumulative: cumulative)
        let intervals = accounting.summary(watch: nil).intervals
        #expect(intervals.map(\.t) == [1, 2, 3])
        #expect(intervals[0].errorsByCode == ["CONNECTIONLOSS": 1])
        #expect(intervals[0].connectionLosses == 1 && intervals[0].reconnects == 0)
        #expect(intervals[1].errorsByCode == ["CONNECTIONLOSS": 1, "SESSIONEXPIRED": 2])
        #expect(intervals[1].connectionLosses == 0 && intervals[1].reconnects == 1)
        #expect(intervals[2].errorsByCode.isEmpty)
    }

    @Test func ledgerPutsEveryDueNotificationInOneBucket() {
        // Two znodes written 10 and 12 times, 3 watchers: 66 due.
        let ledger = WatchLedger.summarize(
            finalVersions: [10, 12],
            watchers: 3,
            received: 60,
            collapsed: 4,
            late: 2,
            versionsRead: true
        )
        #expect(ledger.writes == 22)
        #expect(ledger.due == 66)
        #expect(ledger.missed == 2)
        #expect(ledger.excess == 0)
        #expect(ledger.received + ledger.collapsed + ledger.missed == ledger.due)
        let over = WatchLedger.summarize(
            finalVersions: [1],
            watchers: 2,
            received: 3,
            collapsed: 0,
            late: 0,
            versionsRead: true
        )
        #expect(over.missed == 0)
        #expect(over.excess == 1)
    }

    @Test func failedWriteIsDueOnlyIfItsNotificationsArrive() {
        var tracker = StormRoundTracker(round: 1, watchers: 2, znodes: 2)
        tracker.writeSent(znode: 0, at: 100)
        tracker.writeFailed(znode: 1)
        tracker.notification(watcher: 0, znode: 0, receivedAt: 150)
        #expect(!tracker.isSettled)
        tracker.notification(watcher: 1, znode: 0, receivedAt: 160)
        #expect(tracker.isSettled, "the failed write is not waited for")
        #expect(tracker.summary().expected == 2)
        #expect(tracker.summary().missing == 0)
        #expect(tracker.summary().writesFailed == 1)
        // The failed write was applied after all: one watcher heard of it, and it counts as due.
        tracker.notification(watcher: 0, znode: 1, receivedAt: 170)
        #expect(tracker.summary().expected == 3)
        #expect(tracker.summary().notified == 3)
        #expect(tracker.summary().missing == 0)
    }
}
