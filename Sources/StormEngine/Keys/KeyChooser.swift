/// Draws key indices in 0..<count. Index 0 is the hottest key for zipfian and hotspot.
package struct KeyChooser: Sendable {
    package let distribution: KeyDistribution
    package var generator: SeededGenerator
    var sequentialNext: Int

    init(distribution: KeyDistribution, generator: SeededGenerator, sequentialStart: Int) {
        self.distribution = distribution
        self.generator = generator
        self.sequentialNext = sequentialStart
    }

    package mutating func next() -> Int {
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
