import NIOConcurrencyHelpers
import Testing

@testable import StormEngine

extension EngineTests {
    @Suite("Open-loop ticker on the real clock")
    struct OpenLoopTickerTimingTests {
        /// The real ticker against the real clock: it starts the right number of requests, close to
        /// their intended times.
        @Test func realTimeScheduleAccuracy() async throws {
            let rate = 2000.0
            let origin = RunClock.now() + 20_000_000
            let end = origin + 1_000_000_000
            let ticker = OpenLoopTicker(
                pacer: OpenLoopPacer(
                    schedule: OpenLoopSchedule(rate: rate, arrivals: .constant, origin: origin, seed: 1, stream: 0),
                    maxInFlight: 64,
                    end: end
                )
            )
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
