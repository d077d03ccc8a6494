import Foundation
import Testing

@testable import StormEngine

/// Pure values: the generator-bound wording, its JSON field, and the storm's `rearm` setting.
extension EngineTests {
    @Suite("Generator summary and re-arm setting")
    struct GeneratorSummaryTests {
        static func summary(_ spans: [GeneratorSummary.Span]) -> GeneratorSummary {
            GeneratorSummary(
                spans: spans,
                loopDelayP99Us: 3200,
                loopDelayMaxUs: 9000,
                cpuShareMax: 0.5,
                loopDelayBoundUs: 5000,
                cpuShareBound: 0.9
            )
        }

        @Test func spanSentenceNamesTheStretchAndTheReason() {
            let span = GeneratorSummary.Span(fromSeconds: 12.4, toSeconds: 14.1, reason: "event-loop delay p99 3.2 ms")
            #expect(span.sentence == "figures from 12.4 s to 14.1 s are generator-bound: event-loop delay p99 3.2 ms")
        }

        @Test func boundIsInTheJSONAndFollowsTheSpans() throws {
            let bound = Self.summary([GeneratorSummary.Span(fromSeconds: 1, toSeconds: 2, reason: "x")])
            let clean = Self.summary([])
            #expect(bound.bound && !clean.bound)
            let object = try #require(
                try JSONSerialization.jsonObject(with: JSONEncoder().encode(bound)) as? [String: Any]
            )
            #expect(object["bound"] as? Bool == true)
            #expect(object["loop_delay_p99_us"] as? Int == 3200)
            let decoded = try JSONDecoder().decode(GeneratorSummary.self, from: JSONEncoder().encode(bound))
            #expect(decoded == bound)
        }

        @Test func reportWarnsOncePerSpan() {
            let text = TextReport.renderGenerator(
                Self.summary([
                    GeneratorSummary.Span(fromSeconds: 1, toSeconds: 2, reason: "event-loop delay p99 8 ms"),
                    GeneratorSummary.Span(fromSeconds: 5, toSeconds: 6, reason: "generator CPU 97% of 2 cores"),
                ])
            )
            #expect(text.components(separatedBy: "warning: figures from").count == 3)
            #expect(!text.contains("not generator-bound"))
            #expect(TextReport.renderGenerator(Self.summary([])).contains("(not generator-bound)"))
        }

        @Test func rearmParsesAndDefaultsToImmediate() throws {
            let deferred = try WorkloadParser.parse(
                "watches:\n  kind: data\n  storm: {rounds: 2, rearm: after-round}\n",
                file: "a.yaml",
                defaultName: "a"
            )
            #expect(deferred.watches?.storm.rearm == .afterRound)
            let plain = try WorkloadParser.parse(
                "watches:\n  kind: data\n  storm: {rounds: 2}\n",
                file: "b.yaml",
                defaultName: "b"
            )
            #expect(plain.watches?.storm.rearm == .immediate)
            #expect(throws: WorkloadError.self) {
                _ = try WorkloadParser.parse(
                    "watches:\n  storm: {rearm: later}\n",
                    file: "c.yaml",
                    defaultName: "c"
                )
            }
            do {
                _ = try WorkloadParser.parse("watches:\n  storm: {rearm: later}\n", file: "c.yaml", defaultName: "c")
            } catch {
                #expect(error.description.contains("immediate, after-round"))
                #expect(error.description.contains("c.yaml"))
            }
        }
    }
}
