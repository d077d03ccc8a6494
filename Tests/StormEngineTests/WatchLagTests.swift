import StormMetrics
import Testing

@testable import StormEngine

extension EngineTests {
    @Suite("Watch-lag arithmetic")
    struct WatchLagTests {
        @Test func roundLagFanOutMissingAndDuplicates() {
            var round = StormRoundTracker(round: 3, watchers: 4, znodes: 2)
            round.writeSent(znode: 0, at: 1_000_000)
            round.writeSent(znode: 1, at: 1_500_000)
            let first = round.notification(watcher: 0, znode: 0, receivedAt: 1_200_000)
            #expect(first)
            let second = round.notification(watcher: 1, znode: 0, receivedAt: 1_100_000)
            #expect(second)
            let third = round.notification(watcher: 2, znode: 0, receivedAt: 1_900_000)
            #expect(third)
            let fourth = round.notification(watcher: 0, znode: 1, receivedAt: 1_600_000)
            #expect(fourth)
            let fifth = round.notification(watcher: 3, znode: 1, receivedAt: 2_500_000)
            #expect(fifth)
            // A second event for the same watcher and znode in one round is a duplicate, not a new lag.
            let duplicate = round.notification(watcher: 0, znode: 0, receivedAt: 1_300_000)
            #expect(!duplicate)
            #expect(!round.isComplete)
            #expect(round.lags == [200_000, 100_000, 100_000, 900_000, 1_000_000])
            let summary = round.summary()
            #expect(summary.round == 3)
            #expect(summary.expected == 8)
            #expect(summary.notified == 5)
            #expect(summary.missing == 3)
            #expect(summary.duplicates == 1)
            #expect(summary.firstNanoseconds == 100_000)
            #expect(summary.medianNanoseconds == 200_000)
            #expect(summary.lastNanoseconds == 1_000_000)
        }

        @Test func roundSummaryFeedsTheRecorder() {
            let recorder = OperationRecorder()
            var round = StormRoundTracker(round: 1, watchers: 3, znodes: 1)
            round.writeSent(znode: 0, at: 10_000)
            for (watcher, at) in [(0, 60_000), (1, 110_000), (2, 2_010_000)] as [(Int, UInt64)] {
                round.notification(watcher: watcher, znode: 0, receivedAt: at)
                recorder.recordWatchEvent(.data, lagNanoseconds: at - 10_000)
            }
            recorder.recordRound(round.summary())
            var recorded = RecordedInterval()
            recorder.drain(into: &recorded)
            #expect(recorded.watchEvents[.data] == 3)
            #expect(recorded.watchLag[.data]?.count == 3)
            #expect(recorded.watchLag[.data]?.value(atPercentile: 50) == 100)
            #expect(recorded.watchFanout.count == 1)
            #expect(recorded.watchFanout.max >= 1999 && recorded.watchFanout.max <= 2001)
            #expect(recorded.stormRounds.count == 1 && recorded.watchMissed == 0)
            // Drained: the next interval starts empty.
            var next = RecordedInterval()
            recorder.drain(into: &next)
            #expect(next.isEmpty)
        }

        @Test func versionsMissedBetweenFiringAndRearming() {
            // Armed at version 4: the event came from version 5; re-arm read version 5 → nothing missed.
            #expect(RearmArithmetic.versionsMissed(armedVersion: 4, rearmVersion: 5) == 0)
            // Versions 6 and 7 were written before the re-arm landed: missed.
            #expect(RearmArithmetic.versionsMissed(armedVersion: 4, rearmVersion: 7) == 2)
            #expect(RearmArithmetic.versionsMissed(armedVersion: 4, rearmVersion: 4) == 0)
        }

        @Test func payloadRoundTrips() {
            let payload = StormPayload(writer: 2, sequence: 99, wallClockNanoseconds: 1_764_000_000_123_456_789)
            #expect(StormPayload(bytes: payload.bytes) == payload)
            #expect(String(decoding: payload.bytes, as: UTF8.self) == "zkstorm w=2 seq=99 ns=1764000000123456789")
            #expect(StormPayload(bytes: Array("hello".utf8)) == nil)
        }
    }
}
