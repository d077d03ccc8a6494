import Foundation

/// Precomputed constants of a distribution over `count` keys, shared by every session's `KeyChooser`.
package struct KeyDistribution: Sendable {
    package let count: Int
    package let spec: KeyDistributionSpec
    // Zipfian by rejection-inversion (Hörmann & Derflinger 1996): exact for any key count, O(1) per
    // draw and no table, unlike YCSB's approximation whose middle ranks are off by up to 15%.
    let exponent: Double
    let hIntegralX1: Double
    let hIntegralN: Double
    let acceptThreshold: Double
    let hotCount: Int

    package init(count: Int, spec: KeyDistributionSpec) {
        precondition(count >= 1, "a key space has at least one key")
        self.count = count
        self.spec = spec
        var hotCount = count
        var exponent = 0.0
        if case .zipfian(let theta) = spec { exponent = theta }
        if case .hotspot(let fraction, _) = spec {
            hotCount = min(count, max(1, Int((Double(count) * fraction).rounded(.up))))
        }
        self.exponent = exponent
        self.hotCount = hotCount
        hIntegralX1 = Self.hIntegral(1.5, exponent) - 1
        hIntegralN = Self.hIntegral(Double(count) + 0.5, exponent)
        acceptThreshold = 2 - Self.hIntegralInverse(Self.hIntegral(2.5, exponent) - Self.h(2, exponent), exponent)
    }

    static func h(_ x: Double, _ exponent: Double) -> Double { exp(-exponent * log(x)) }

    static func hIntegral(_ x: Double, _ exponent: Double) -> Double {
        let logX = log(x)
        return helper2((1 - exponent) * logX) * logX
    }

    static func hIntegralInverse(_ x: Double, _ exponent: Double) -> Double {
        var t = x * (1 - exponent)
        if t < -1 { t = -1 }
        return exp(helper1(t) * x)
    }

    /// log1p(x)/x, accurate near 0.
    static func helper1(_ x: Double) -> Double {
        abs(x) > 1e-8 ? log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }

    /// expm1(x)/x, accurate near 0.
    static func helper2(_ x: Double) -> Double {
        abs(x) > 1e-8 ? expm1(x) / x : 1 + x * 0.5 * (1 + x * (1.0 / 3.0) * (1 + 0.25 * x))
    }

    /// One zipfian rank in 1...count.
    func zipfianRank(_ generator: inout SeededGenerator) -> Int {
        // Accepts on the first try almost always; bounded anyway.
        var k = 1
        for _ in 0..<64 {
            let u = hIntegralN + generator.nextUnit() * (hIntegralX1 - hIntegralN)
            let x = Self.hIntegralInverse(u, exponent)
            k = min(max(Int(x + 0.5), 1), count)
            if Double(k) - x <= acceptThreshold
                || u >= Self.hIntegral(Double(k) + 0.5, exponent) - Self.h(Double(k), exponent)
            {
                return k
            }
        }
        return k
    }

    /// A chooser for one session: its own seeded stream, so sessions do not contend.
    package func chooser(seed: UInt64, stream: UInt64) -> KeyChooser {
        KeyChooser(
            distribution: self,
            generator: SeededGenerator(seed: seed, stream: stream),
            sequentialStart: Int(stream % UInt64(count))
        )
    }
}
