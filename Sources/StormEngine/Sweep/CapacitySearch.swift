import Foundation

/// The highest open-loop rate that holds every SLO: double (or halve) from a start rate until the
/// verdict changes, then bisect the bracket until it is narrower than the resolution — the question
/// wrk2 users answer by hand, one run at a time.
public struct CapacitySearch: Sendable {
    public enum Resolution: Sendable, Equatable, CustomStringConvertible {
        /// The bracket's width as a fraction of its lower end (`5%`).
        case relative(Double)
        /// The bracket's width in operations per second (`100`).
        case absolute(Double)

        public init(parsing text: String) throws(SweepError) {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.hasSuffix("%"), let percent = Double(trimmed.dropLast()), percent > 0, percent < 100 {
                self = .relative(percent / 100)
            } else if let rate = Double(trimmed.hasSuffix("/s") ? String(trimmed.dropLast(2)) : trimmed), rate > 0 {
                self = .absolute(rate)
            } else {
                throw SweepError(
                    .usage,
                    "--resolution \(text): expected a percentage such as 5% or a rate such as 100/s"
                )
            }
        }

        func width(at lower: Double) -> Double {
            switch self {
            case .relative(let fraction): lower * fraction
            case .absolute(let rate): rate
            }
        }

        public var description: String {
            switch self {
            case .relative(let fraction): SweepParameter.format(fraction * 100) + "%"
            case .absolute(let rate): SweepParameter.format(rate) + "/s"
            }
        }
    }

    public struct Step: Sendable, Equatable, Codable {
        public var rate: Double
        public var passed: Bool
    }

    public struct Outcome: Sendable, Equatable {
        /// Every probe in the order it ran.
        public var steps: [Step]
        /// The highest rate that held; nil when even the lowest tried failed.
        public var highestPassing: Double?
        /// The lowest rate that failed; nil when the ceiling held.
        public var lowestFailing: Double?
    }

    public var start: Double
    /// No rate above this is tried (what the sessions can issue).
    public var ceiling: Double
    /// Halving stops below this.
    public var floor: Double
    public var resolution: Resolution

    public init(start: Double, ceiling: Double, floor: Double = 1, resolution: Resolution = .relative(0.05)) {
        self.start = min(max(start, floor), ceiling)
        self.ceiling = ceiling
        self.floor = floor
        self.resolution = resolution
    }

    /// Runs `probe` (a full run at a rate, judged by the SLOs) as often as the search needs.
    public func run(_ probe: (Double) async throws -> Bool) async throws -> Outcome {
        var steps: [Step] = []
        func measure(_ rate: Double) async throws -> Bool {
            let passed = try await probe(rate)
            steps.append(Step(rate: rate, passed: passed))
            return passed
        }
        var low: Double?
        var high: Double?
        var rate = start.rounded()
        if try await measure(rate) {
            low = rate
            while high == nil {
                guard rate < ceiling else { return Outcome(steps: steps, highestPassing: rate, lowestFailing: nil) }
                rate = min(ceiling, max(rate + 1, (rate * 2).rounded()))
                if try await measure(rate) { low = rate } else { high = rate }
            }
        } else {
            high = rate
            while low == nil {
                rate = (rate / 2).rounded(.down)
                guard rate >= floor, rate < high! else {
                    return Outcome(steps: steps, highestPassing: nil, lowestFailing: high)
                }
                if try await measure(rate) { low = rate } else { high = rate }
            }
        }
        guard var lo = low, var hi = high else {
            return Outcome(steps: steps, highestPassing: low, lowestFailing: high)
        }
        while hi - lo > resolution.width(at: lo) {
            let mid = ((lo + hi) / 2).rounded()
            guard mid > lo, mid < hi else { break }
            if try await measure(mid) { lo = mid } else { hi = mid }
        }
        return Outcome(steps: steps, highestPassing: lo, lowestFailing: hi)
    }
}
