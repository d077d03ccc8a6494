import Foundation

/// The intended start times of an open loop: evenly spaced (constant) or exponential gaps (Poisson),
/// in monotonic nanoseconds from `origin`. The times never depend on how fast the server answers,
/// which is what makes intended-time latency free of coordinated omission.
package struct OpenLoopSchedule: Sendable {
    package let rate: Double
    package let arrivals: ArrivalProcess
    package let origin: UInt64
    var generator: SeededGenerator
    /// Offset of the next start from `origin`, ns (fractional so constant spacing does not drift).
    var nextOffset: Double

    package init(
        rate: Double,
        arrivals: ArrivalProcess,
        origin: UInt64,
        seed: UInt64,
        stream: UInt64,
        steps: [(offset: Double, factor: Double)] = [],
        stepsOrigin: Double = 0
    ) {
        precondition(rate > 0, "an open loop needs a positive rate")
        self.rate = rate
        self.arrivals = arrivals
        self.origin = origin
        self.generator = SeededGenerator(seed: seed, stream: stream)
        self.nextOffset = 0
        self.steps = steps
        self.stepsOrigin = stepsOrigin
        // Poisson: the first arrival is itself random; constant: start at the origin.
        if arrivals == .poisson { nextOffset = gap() }
    }

    /// Stages: from `offset` ns after `origin` (the measurement start, warm-up being before it) the
    /// rate is `rate × factor`. Empty = a constant rate.
    package var steps: [(offset: Double, factor: Double)] = []
    /// Offset of the measurement start from `origin` (the warm-up's length), for `steps`.
    package var stepsOrigin: Double = 0

    var meanGap: Double { 1e9 / rate }

    /// The rate factor at `offset` ns from `origin`.
    func factor(at offset: Double) -> Double {
        guard !steps.isEmpty else { return 1 }
        let fromMeasurement = offset - stepsOrigin
        return steps.last { $0.offset <= fromMeasurement }?.factor ?? steps[0].factor
    }

    mutating func gap() -> Double {
        let unit: Double =
            switch arrivals {
            case .constant: 1
            case .poisson: -log(1 - generator.nextUnit())
            }
        guard !steps.isEmpty else { return unit * meanGap }
        // Walk the stages: a gap that crosses into a stage at another rate continues at that rate
        // (a stage at rate 0 sends nothing until the next one).
        var remaining = unit
        var at = nextOffset
        while true {
            let factor = self.factor(at: at)
            let nextBoundary = steps.first { $0.offset + stepsOrigin > at }.map { $0.offset + stepsOrigin }
            if factor > 0 {
                let needed = remaining * meanGap / factor
                // A start that lands on a stage boundary belongs to the next stage (at its rate).
                if let nextBoundary, at + needed >= nextBoundary {
                    remaining -= (nextBoundary - at) * factor / meanGap
                    at = nextBoundary
                    continue
                }
                return at + needed - nextOffset
            }
            guard let nextBoundary else { return .greatestFiniteMagnitude / 4 }
            at = nextBoundary
        }
    }

    /// The next intended start (absolute monotonic ns) without consuming it.
    package var peek: UInt64 { nextOffset >= 1.8e19 ? UInt64.max : origin &+ UInt64(nextOffset) }

    package mutating func next() -> UInt64 {
        let time = peek
        nextOffset += gap()
        return time
    }
}

/// Decides, for one session, which intended starts may be sent now. At most `maxInFlight` requests are
/// outstanding; starts that come due while the window is full wait (their intended time unchanged) and
/// count as late when they finally go. Pure value type: the driver feeds it the clock, so tests can too.
package struct OpenLoopPacer: Sendable {
    package var schedule: OpenLoopSchedule
    package let maxInFlight: Int
    /// A start sent more than this after its intended time counts as late.
    package let lateThresholdNanoseconds: UInt64
    package private(set) var inFlight = 0
    package private(set) var lateStarts: UInt64 = 0
    package private(set) var started: UInt64 = 0
    /// No starts at or after this time (the end of the run).
    package let end: UInt64

    package init(
        schedule: OpenLoopSchedule,
        maxInFlight: Int,
        end: UInt64,
        lateThresholdNanoseconds: UInt64 = 1_000_000
    ) {
        self.schedule = schedule
        self.maxInFlight = maxInFlight
        self.end = end
        self.lateThresholdNanoseconds = lateThresholdNanoseconds
    }

    package enum Next: Equatable, Sendable {
        /// Send a request now, timed from `intended`.
        case send(intended: UInt64)
        /// Nothing due: call again at this time.
        case sleep(until: UInt64)
        /// Window full: call again when a request completes.
        case waitForCompletion
        /// The schedule has reached the end of the run.
        case finished
    }

    package mutating func next(now: UInt64) -> Next {
        let due = schedule.peek
        if due >= end { return .finished }
        if due > now { return .sleep(until: due) }
        if inFlight >= maxInFlight { return .waitForCompletion }
        let intended = schedule.next()
        inFlight += 1
        started += 1
        if now &- intended > lateThresholdNanoseconds { lateStarts += 1 }
        return .send(intended: intended)
    }

    package mutating func completed() {
        inFlight -= 1
    }
}
