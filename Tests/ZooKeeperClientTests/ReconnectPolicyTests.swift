import NIOCore
import TestRandom
import Testing
import ZooKeeperProtocol

@testable import ZooKeeperClient

/// Always the largest value: jitter at its ceiling.
struct MaxGenerator: RandomNumberGenerator {
    mutating func next() -> UInt64 { .max }
}

@Suite("Reconnect policy")
struct ReconnectPolicyTests {
    let ms: Int64 = 1_000_000

    @Test func immediateRetriesAtOnceThenPausesOnceEveryHostFailed() {
        var random = SplitMix64(seed: 1)
        let policy = ReconnectPolicy.immediate
        let delays = (0..<5).map { policy.delayNanos(attempt: $0, hostCount: 3, using: &random) }
        #expect(delays == [0, 0, 0, 100 * ms, 100 * ms])
    }

    @Test func exponentialBackoffDoublesUpToTheCap() {
        var random = SplitMix64(seed: 1)
        let policy = ReconnectPolicy.exponentialBackoff(base: .milliseconds(50), max: .milliseconds(1000))
        let delays = (0..<8).map { policy.delayNanos(attempt: $0, hostCount: 1, using: &random) }
        #expect(delays == [50, 100, 200, 400, 800, 1000, 1000, 1000].map { $0 * ms })
    }

    @Test func exponentialBackoffNeverOverflows() {
        var random = SplitMix64(seed: 1)
        let policy = ReconnectPolicy.exponentialBackoff(base: .seconds(3), max: .seconds(30))
        for attempt in [40, 62, 63, 64, 1000, Int.max] {
            #expect(policy.delayNanos(attempt: attempt, hostCount: 1, using: &random) == 30_000 * ms)
        }
        let zero = ReconnectPolicy.exponentialBackoff(base: .zero, max: .seconds(1))
        #expect(zero.delayNanos(attempt: 5, hostCount: 1, using: &random) == 0)
    }

    @Test func fullJitterStaysUnderTheExponentialCeilingAndSpreads() {
        var random = SplitMix64(seed: 42)
        let policy = ReconnectPolicy.exponentialBackoffWithJitter(base: .milliseconds(100), max: .milliseconds(800))
        for attempt in 0..<6 {
            let ceiling = min(100 * ms << attempt, 800 * ms)
            let samples = (0..<2000).map { _ in policy.delayNanos(attempt: attempt, hostCount: 1, using: &random) }
            #expect(samples.allSatisfy { $0 >= 0 && $0 <= ceiling })
            // Uniform on 0...ceiling: the mean is near half of it, and both halves are hit.
            let mean = Double(samples.reduce(0, +)) / Double(samples.count)
            #expect(abs(mean / Double(ceiling) - 0.5) < 0.05, "attempt \(attempt): mean \(mean) of \(ceiling)")
            #expect(samples.contains { $0 < ceiling / 4 } && samples.contains { $0 > ceiling * 3 / 4 })
        }
        var top = MaxGenerator()
        #expect(policy.delayNanos(attempt: 2, hostCount: 1, using: &top) == 400 * ms)
    }

    @Test func stateMachineAppliesThePolicyBetweenAttemptsAfterALoss() {
        let a = HostPort(host: "a", port: 1)
        var m = SessionStateMachine(
            hosts: [a],
            requestedTimeoutMs: 30_000,
            connectTimeoutNanos: 1_000_000_000,
            reconnectPolicy: .exponentialBackoffWithJitter(base: .milliseconds(100), max: .seconds(1)),
            random: MaxGenerator()
        )
        _ = m.start()
        let accepted = ConnectResponse(
            timeOut: 30_000,
            sessionId: 0x42,
            password: [UInt8](repeating: 7, count: 16),
            readOnly: false
        )
        #expect(m.handshakeReceived(accepted, attempt: 1, now: 0) == .sessionStarted)
        #expect(
            m.connectionLost(attempt: 1, reason: "reset", now: 0)
                == .connectionLost(
                    next: .connect(a, attempt: 2, timeoutNanos: 1_000_000_000, delayNanos: 100 * ms)
                )
        )
        var delays: [Int64] = []
        for attempt in 2..<7 {
            guard case .connect(_, _, _, let delay) = m.connectFailed(attempt: attempt, reason: "refused", now: 0)
            else {
                Issue.record("expected a connect")
                return
            }
            delays.append(delay)
        }
        #expect(delays == [200, 400, 800, 1000, 1000].map { $0 * ms })
    }

    @Test func backoffNeverTakesMoreThanHalfOfWhatIsLeftOfTheSession() {
        let a = HostPort(host: "a", port: 1)
        var m = SessionStateMachine(
            hosts: [a],
            requestedTimeoutMs: 4000,
            connectTimeoutNanos: 1_000_000_000,
            reconnectPolicy: .exponentialBackoff(base: .seconds(10), max: .seconds(60))
        )
        _ = m.start()
        let accepted = ConnectResponse(
            timeOut: 4000,
            sessionId: 0x42,
            password: [UInt8](repeating: 7, count: 16),
            readOnly: false
        )
        _ = m.handshakeReceived(accepted, attempt: 1, now: 0)
        #expect(
            m.connectionLost(attempt: 1, reason: "reset", now: 0)
                == .connectionLost(
                    next: .connect(a, attempt: 2, timeoutNanos: 1_000_000_000, delayNanos: 2000 * ms)
                )
        )
    }
}

@Suite("setWatches2 batching")
struct SetWatchesBatchingTests {
    /// The frame's length field as the server reads it: everything after the 4-byte prefix.
    func encodedLength(_ batch: SetWatches2Request) -> Int {
        var buffer = ByteBuffer()
        ZooKeeperRequest.setWatches2(batch).encodeFrame(xid: SpecialXid.setWatches, into: &buffer)
        let announced = Int(buffer.getInteger(at: 0, as: Int32.self)!)
        #expect(announced == buffer.readableBytes - 4)
        return announced
    }

    func watches(count: Int, pathLength: Int) -> RegisteredWatches {
        var watches = RegisteredWatches()
        for i in 0..<count {
            let stem = "/w/\(i)/"
            let path = stem + String(repeating: "x", count: max(pathLength - stem.utf8.count, 0))
            switch i % 4 {
            case 0: watches.register(.data, path: path, result: .ok)
            case 1: watches.register(.exists, path: path, result: .noNode)
            case 2: watches.register(.child, path: path, result: .ok)
            default: watches.register(.persistent, path: path, result: .ok)
            }
        }
        return watches
    }

    @Test func emptyFrameLengthMatchesTheJuteEncoding() {
        #expect(encodedLength(SetWatches2Request(relativeZxid: 7)) == RegisteredWatches.emptySetWatches2FrameLength)
    }

    @Test func batchesFitTheLimitExactlyAndCarryEveryWatchOnce() {
        let all = watches(count: 20_000, pathLength: 100)
        let single = SetWatches2Request(
            relativeZxid: 9,
            dataWatches: all.dataWatches.sorted(),
            existWatches: all.existWatches.sorted(),
            childWatches: all.childWatches.sorted(),
            persistentWatches: all.persistentWatches.sorted()
        )
        // One request would be ZOOKEEPER-706: over the server's 0xfffff.
        let singleLength = encodedLength(single)
        #expect(singleLength == 36 + 20_000 * 104)
        #expect(singleLength > zooKeeperMaxFrameLength)

        let batches = all.setWatchesBatches(relativeZxid: 9)
        let perBatch = (zooKeeperMaxFrameLength - 36) / 104
        #expect(batches.count == (20_000 + perBatch - 1) / perBatch)
        for batch in batches {
            let length = encodedLength(batch)
            #expect(length <= zooKeeperMaxFrameLength)
            #expect(batch.relativeZxid == 9)
        }
        // Every batch but the last is full: one more path would not have fitted.
        for batch in batches.dropLast() {
            #expect(encodedLength(batch) + 104 > zooKeeperMaxFrameLength)
        }
        #expect(batches.map(\.watchCount).reduce(0, +) == 20_000)
        #expect(Set(batches.flatMap(\.dataWatches)) == all.dataWatches)
        #expect(Set(batches.flatMap(\.existWatches)) == all.existWatches)
        #expect(Set(batches.flatMap(\.childWatches)) == all.childWatches)
        #expect(Set(batches.flatMap(\.persistentWatches)) == all.persistentWatches)
    }

    @Test func aSmallerLimitIsRespectedToTheByte() {
        let all = watches(count: 500, pathLength: 40)
        let limit = 36 + 10 * 44  // room for exactly ten paths
        let batches = all.setWatchesBatches(relativeZxid: 1, maxFrameLength: limit)
        #expect(batches.count == 50)
        #expect(batches.allSatisfy { encodedLength($0) == limit && $0.watchCount == 10 })
    }

    @Test func aPathLongerThanTheLimitGoesAlone() {
        var all = RegisteredWatches()
        all.register(.data, path: "/" + String(repeating: "a", count: 200), result: .ok)
        all.register(.data, path: "/b", result: .ok)
        let batches = all.setWatchesBatches(relativeZxid: 1, maxFrameLength: 100)
        #expect(batches.map(\.watchCount) == [1, 1])
        #expect(RegisteredWatches().setWatchesBatches(relativeZxid: 1).isEmpty)
    }
}
