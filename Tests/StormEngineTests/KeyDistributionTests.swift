import Foundation
import Testing

@testable import StormEngine

extension EngineTests {
    @Suite("Key distributions")
    struct KeyDistributionTests {
        static func sample(_ spec: KeyDistributionSpec, count: Int, draws: Int, seed: UInt64 = 7) -> [Int] {
            var chooser = KeyDistribution(count: count, spec: spec).chooser(seed: seed, stream: 0)
            var histogram = [Int](repeating: 0, count: count)
            for _ in 0..<draws { histogram[chooser.next()] += 1 }
            return histogram
        }

        @Test func sameSeedSameKeysOtherStreamOtherKeys() {
            let d = KeyDistribution(count: 1000, spec: .zipfian(theta: 0.99))
            var a = d.chooser(seed: 3, stream: 1)
            var b = d.chooser(seed: 3, stream: 1)
            var c = d.chooser(seed: 3, stream: 2)
            let sa = (0..<200).map { _ in a.next() }
            let sb = (0..<200).map { _ in b.next() }
            let sc = (0..<200).map { _ in c.next() }
            #expect(sa == sb)
            #expect(sa != sc)
        }

        @Test func uniformPassesChiSquare() {
            let buckets = Self.sample(.uniform, count: 20, draws: 200_000)
            let expected = 200_000.0 / 20
            let chiSquare = buckets.reduce(0.0) { $0 + pow(Double($1) - expected, 2) / expected }
            // 19 degrees of freedom: the 0.999 quantile is 43.8.
            #expect(chiSquare < 43.8, "chi-square \(chiSquare)")
        }

        @Test func zipfianFollowsThePowerLaw() {
            let n = 1000
            let theta = 0.99
            let draws = 400_000
            let counts = Self.sample(.zipfian(theta: theta), count: n, draws: draws)
            let zeta = (1...n).reduce(0.0) { $0 + 1 / pow(Double($1), theta) }
            for rank in [1, 2, 3, 5, 10, 50, 200] {
                let expected = Double(draws) / pow(Double(rank), theta) / zeta
                let observed = Double(counts[rank - 1])
                #expect(
                    abs(observed - expected) / expected < (rank < 50 ? 0.04 : 0.15),
                    "rank \(rank): observed \(observed), expected \(expected)"
                )
            }
            // The head carries most of the mass: the top 10% of keys get well over half the accesses.
            let head = counts.prefix(n / 10).reduce(0, +)
            #expect(Double(head) / Double(draws) > 0.6)
            #expect(counts.allSatisfy { $0 >= 0 } && counts.reduce(0, +) == draws)
        }

        @Test func hotspotSendsTheHotProbabilityToTheHotFraction() {
            let counts = Self.sample(.hotspot(hotFraction: 0.1, hotProbability: 0.9), count: 1000, draws: 200_000)
            let hot = Double(counts.prefix(100).reduce(0, +)) / 200_000
            #expect(abs(hot - 0.9) < 0.005, "hot share \(hot)")
            #expect(counts.suffix(900).allSatisfy { $0 > 0 })
        }

        @Test func sequentialWalksTheKeysInOrderAndWraps() {
            var chooser = KeyDistribution(count: 5, spec: .sequential).chooser(seed: 1, stream: 0)
            #expect((0..<12).map { _ in chooser.next() } == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1])
        }

        @Test func unitIntervalIsUniformAndBounded() {
            var g = SeededGenerator(seed: 11)
            var sum = 0.0
            for _ in 0..<100_000 {
                let u = g.nextUnit()
                #expect(u >= 0 && u < 1)
                sum += u
            }
            #expect(abs(sum / 100_000 - 0.5) < 0.005)
        }
    }
}
