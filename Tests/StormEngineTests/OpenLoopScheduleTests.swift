import Foundation
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
    }
}
