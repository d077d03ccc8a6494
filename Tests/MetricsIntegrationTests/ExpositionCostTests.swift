import StormMetricsTestSupport
import Testing

@testable import StormMetrics

@Suite struct ExpositionCostTests {
    /// Rendering and gzip run on the pusher's task every interval; they must stay cheap next to it.
    @Test func renderAndGzipOfARealisticSnapshotAreCheap() throws {
        let snapshot = SampleSnapshots.realistic()
        let clock = ContinuousClock()
        var body: [UInt8] = []
        var text = ""
        let rounds = 20
        let elapsed = try clock.measure {
            for _ in 0..<rounds {
                text = PrometheusExposition.render(snapshot)
                body = try Gzip.compress(Array(text.utf8))
            }
        }
        let perRound = elapsed / rounds
        print("render + gzip: \(text.utf8.count) bytes → \(body.count) gzip bytes, \(perRound) per round (debug build)")
        // A tenth of the default 5 s interval even unoptimised; a release build is far below.
        #expect(perRound < .milliseconds(500))
        #expect(body.count * 5 < text.utf8.count)
    }
}
