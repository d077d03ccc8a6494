import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import StormMetrics
import Testing

@testable import StormEngine

/// The generator watches itself during real runs (built-in server, real TCP): a run whose event loops
/// are deliberately stalled reports itself generator-bound for that stretch; a normal run does not.
extension EngineTests {
    @Suite("Generator self-monitoring", .serialized)
    struct GeneratorBoundRunTests {
        /// 20 watchers, a round every 100 ms for about 3 s of measurement.
        static func storm() -> Workload {
            var w = Workload(name: "generator-bound")
            w.sessions = 0
            w.duration = .seconds(10)
            w.warmup = .milliseconds(100)
            w.watches = WatchSpec(
                kind: .data,
                watchers: 20,
                znodes: 1,
                storm: StormSpec(rounds: 30, interval: .milliseconds(100), timeout: .seconds(2))
            )
            return w
        }

        /// Bounds loose enough that a loaded two-core test machine does not trip them on its own.
        static let bounds = GeneratorBounds(loopDelayP99: .milliseconds(50), cpuShare: 0.95)

        @Test func stalledEventLoopsMakeTheRunGeneratorBoundForThatStretch() async throws {
            let stalledAt = NIOLockedValueBox<Double?>(nil)
            let run = StormRun(workload: Self.storm(), generatorBounds: Self.bounds) { tick, _ in
                // At the first tick (about 1 s in), block every client event loop (the watchers' and the shared ones) for 400 ms.
                let first = stalledAt.withLockedValue { at -> Bool in
                    guard at == nil else { return false }
                    at = tick.elapsedSeconds
                    return true
                }
                guard first else { return }
                for loop in WatcherEventLoop.allLoops {
                    loop.execute { usleep(400_000) }
                }
            }
            let result = try await run.run().result
            let at = try #require(stalledAt.withLockedValue { $0 })
            let generator = try #require(result.generator)
            #expect(result.generatorBound)
            #expect(generator.loopDelayMaxUs >= 300_000, "max delay \(generator.loopDelayMaxUs) µs")
            let span = try #require(generator.spans.first { $0.reason.contains("event-loop delay") })
            // The span covers the stall and not the whole run.
            #expect(span.fromSeconds <= at + 0.5 && span.toSeconds >= at, "\(span) vs stall at \(at) s")
            #expect(span.toSeconds - span.fromSeconds < result.durationSeconds)
            #expect(TextReport.render(result).contains("are generator-bound: event-loop delay p99"))
            let json = String(decoding: try result.jsonData(), as: UTF8.self)
            #expect(json.contains("\"bound\":true") || json.contains("\"bound\" : true"))
        }

        @Test func aNormalRunIsNotGeneratorBound() async throws {
            let pushed = NIOLockedValueBox<[Bool]>([])
            let run = StormRun(workload: Self.storm(), generatorBounds: Self.bounds) { _, status in
                if let generator = status.generator { pushed.withLockedValue { $0.append(generator.bound) } }
            }
            let result = try await run.run().result
            let generator = try #require(result.generator)
            #expect(!result.generatorBound, "\(generator.spans.map(\.sentence))")
            #expect(generator.spans.isEmpty)
            #expect(generator.loopDelayBoundUs == 50_000)
            #expect(result.rounds.count >= 10)
            // Each interval handed to the metrics push carried the generator's figures.
            #expect(pushed.withLockedValue { $0 }.count >= 2)
            #expect(pushed.withLockedValue { $0 }.allSatisfy { !$0 })
            #expect(TextReport.render(result).contains("(not generator-bound)"))
        }
    }
}
