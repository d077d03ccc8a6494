import Foundation
import NIOConcurrencyHelpers
import Testing

@testable import StormEngine

extension EngineTests {
    @Suite("Open-loop schedule")
    struct OpenLoopScheduleTests {
        @Test func constantArrivalsAreEvenlySpaced() {
            var s = OpenLoopSchedule(rate: 1000, arrivals: .constant, origin: 5_000, seed: 1, stream: 0)
            let times = (0..<1000).map { _ in s.next() }
            #expect(times.first == 5_000)
            #expect(times[999] == 5_000 + 999_000_000)
            #expect(zip(times.dropFirst(), times).allSatisfy { $0 - $1 == 1_000_000 })
        }

        @Test func poissonArrivalsHaveExponentialGaps() {
            var s = OpenLoopSchedule(rate: 2000, arrivals: .poisson, origin: 0, seed: 9, stream: 3)
            var previous: UInt64 = 0
            var gaps: [Double] = []
            for _ in 0..<50_000 {
                let t = s.next()
                gaps.append(Double(t - previous))
                previous = t
            }
            let mean = gaps.reduce(0, +) / Double(gaps.count)
            let variance = gaps.reduce(0) { $0 + pow($1 - mean, 2) } / Double(gaps.count)
            #expect(abs(mean - 500_000) / 500_000 < 0.02, "mean gap \(mean) ns")
            // Exponential: the coefficient of variation is 1.
            #expect(abs(variance.squareRoot() / mean - 1) < 0.03)
            // P(gap > mean) = e^-1.
            let above = Double(gaps.filter { $0 > 500_000 }.count) / Double(gaps.count)
            #expect(abs(above - exp(-1)) < 0.01)
        }

        @Test func pacerHonoursTheWindowAndCountsLateStarts() {
            let schedule = OpenLoopSchedule(rate: 1000, arrivals: .constant, origin: 0, seed: 1, stream: 0)
            var pacer = OpenLoopPacer(schedule: schedule, maxInFlight: 2, end: 10_000_000)
            #expect(pacer.next(now: 0) == .send(intended: 0))
            #expect(pacer.next(now: 0) == .sleep(until: 1_000_000))
            #expect(pacer.next(now: 1_000_000) == .send(intended: 1_000_000))
            #expect(pacer.next(now: 5_000_000) == .waitForCompletion)
            pacer.completed()
            // Sent 3 ms after its intended time: late, and still timed from the intended start.
            #expect(pacer.next(now: 5_000_000) == .send(intended: 2_000_000))
            #expect(pacer.lateStarts == 1)
            pacer.completed()
            pacer.completed()
            #expect(pacer.next(now: 5_000_000) == .send(intended: 3_000_000))
            #expect(pacer.next(now: 5_000_000) == .send(intended: 4_000_000))
            #expect(pacer.next(now: 5_000_000) == .waitForCompletion)
            // 3 ms and 2 ms late count; exactly 1 ms late (the threshold) does not.
            #expect(pacer.lateStarts == 2)
            var finished = OpenLoopPacer(schedule: schedule, maxInFlight: 2, end: 0)
            #expect(finished.next(now: 0) == .finished)
        }

        /// The real ticker against the real clock: it starts the right number of requests, close to
        /// their intended times.
        @Test func realTimeScheduleAccuracy() async throws {
            let rate = 2000.0
            let origin = RunClock.now() + 20_000_000
            let end = origin + 1_000_000_000
            let ticker = OpenLoopTicker(
                pacer: OpenLoopPacer(
                    schedule: OpenLoopSchedule(rate: rate, arrivals: .constant, origin: origin, seed: 1, stream: 0),
                    maxInFlight: 64, end: end))
            let lateness = LatenessLog()
            await ticker.run { intended, _, done in
                lateness.add(RunClock.now() - intended)
                done(true)
            }
            let finished = RunClock.now()
            let values = lateness.values.sorted()
            #expect(values.count == 2000)
            let median = values[values.count / 2]
            let p90 = values[values.count * 90 / 100]
            // Bounds loose enough for a 2-core machine shared with a JVM starting and five builds; a
            // scheduler that drifts (sleeping a full gap after each send) would be ~0.5 s late by the end.
            #expect(median < 20_000_000, "median start lateness \(median) ns")
            #expect(p90 < 250_000_000, "p90 start lateness \(p90) ns")
            #expect(finished < end + 300_000_000, "the schedule ran \((finished - end) / 1_000_000) ms past its end")
        }
    }
}

final class LatenessLog: Sendable {
    private let box = NIOLockedValueBox<[UInt64]>([])
    func add(_ value: UInt64) { box.withLockedValue { $0.append(value) } }
    var values: [UInt64] { box.withLockedValue { $0 } }
}
