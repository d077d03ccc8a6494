import Foundation

/// xoshiro256** seeded through SplitMix64: fast, small and the same sequence on every platform, so a
/// seed reproduces a run's key and operation choices exactly.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var mixer = seed
        func splitMix() -> UInt64 {
            mixer &+= 0x9E37_79B9_7F4A_7C15
            var z = mixer
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// An independent stream for one session or task of a seeded run.
    public init(seed: UInt64, stream: UInt64) {
        self.init(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03) &+ stream)
    }

    @inlinable
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 &- k)) }

    public mutating func next() -> UInt64 {
        let result = Self.rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = Self.rotl(state.3, 45)
        return result
    }

    /// Uniform in [0, 1) with 53 bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}

/// Precomputed constants of a distribution over `count` keys, shared by every session's `KeyChooser`.
public struct KeyDistribution: Sendable {
    public let count: Int
    public let spec: KeyDistributionSpec
    // Zipfian by rejection-inversion (Hörmann & Derflinger 1996): exact for any key count, O(1) per
    // draw and no table, unlike YCSB's approximation whose middle ranks are off by up to 15%.
    let exponent: Double
    let hIntegralX1: Double
    let hIntegralN: Double
    let acceptThreshold: Double
    let hotCount: Int

    public init(count: Int, spec: KeyDistributionSpec) {
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
    public func chooser(seed: UInt64, stream: UInt64) -> KeyChooser {
        KeyChooser(
            distribution: self, generator: SeededGenerator(seed: seed, stream: stream),
            sequentialStart: Int(stream % UInt64(count)))
    }
}

/// Draws key indices in 0..<count. Index 0 is the hottest key for zipfian and hotspot.
public struct KeyChooser: Sendable {
    public let distribution: KeyDistribution
    public var generator: SeededGenerator
    var sequentialNext: Int

    init(distribution: KeyDistribution, generator: SeededGenerator, sequentialStart: Int) {
        self.distribution = distribution
        self.generator = generator
        self.sequentialNext = sequentialStart
    }

    public mutating func next() -> Int {
        let d = distribution
        switch d.spec {
        case .uniform:
            return Int(generator.next() % UInt64(d.count))
        case .sequential:
            let key = sequentialNext
            sequentialNext = (sequentialNext + 1) % d.count
            return key
        case .zipfian:
            return d.zipfianRank(&generator) - 1
        case .hotspot(_, let probability):
            let cold = d.count - d.hotCount
            if cold == 0 || generator.nextUnit() < probability {
                return Int(generator.next() % UInt64(d.hotCount))
            }
            return d.hotCount + Int(generator.next() % UInt64(cold))
        }
    }
}
