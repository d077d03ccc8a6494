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
    // Zipfian (Gray et al., "Quickly generating billion-record synthetic databases", as in YCSB).
    let zetaN: Double
    let alpha: Double
    let eta: Double
    let halfPowTheta: Double
    let hotCount: Int

    public init(count: Int, spec: KeyDistributionSpec) {
        precondition(count >= 1, "a key space has at least one key")
        self.count = count
        self.spec = spec
        var zetaN = 0.0
        var alpha = 0.0
        var eta = 0.0
        var halfPowTheta = 0.0
        var hotCount = count
        switch spec {
        case .zipfian(let theta):
            for i in 1...count { zetaN += 1 / pow(Double(i), theta) }
            let zeta2 = 1 + 1 / pow(2, theta)
            alpha = 1 / (1 - theta)
            eta = (1 - pow(2 / Double(count), 1 - theta)) / (1 - zeta2 / zetaN)
            halfPowTheta = pow(0.5, theta)
        case .hotspot(let fraction, _):
            hotCount = min(count, max(1, Int((Double(count) * fraction).rounded(.up))))
        case .uniform, .sequential:
            break
        }
        self.zetaN = zetaN
        self.alpha = alpha
        self.eta = eta
        self.halfPowTheta = halfPowTheta
        self.hotCount = hotCount
    }

    /// A chooser for one session: its own seeded stream, so sessions do not contend.
    public func chooser(seed: UInt64, stream: UInt64) -> KeyChooser {
        KeyChooser(distribution: self, generator: SeededGenerator(seed: seed, stream: stream), sequentialStart: Int(stream % UInt64(count)))
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
            let u = generator.nextUnit()
            let uz = u * d.zetaN
            if uz < 1 { return 0 }
            if uz < 1 + d.halfPowTheta { return min(1, d.count - 1) }
            return min(d.count - 1, Int(Double(d.count) * pow(d.eta * u - d.eta + 1, d.alpha)))
        case .hotspot(_, let probability):
            let cold = d.count - d.hotCount
            if cold == 0 || generator.nextUnit() < probability {
                return Int(generator.next() % UInt64(d.hotCount))
            }
            return d.hotCount + Int(generator.next() % UInt64(cold))
        }
    }
}
