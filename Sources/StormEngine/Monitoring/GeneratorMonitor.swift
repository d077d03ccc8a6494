import Foundation
import NIOConcurrencyHelpers
import NIOCore
import StormMetrics

/// When the generator itself, not the target, may have shaped the figures.
public struct GeneratorBounds: Sendable, Equatable {
    /// An event loop that runs a task this much later than scheduled (p99 of an interval) delays the
    /// reading and stamping of every socket on it by as much.
    public var loopDelayP99: Duration
    /// The process's CPU time over wall time, as a share of the cores it may run on.
    public var cpuShare: Double

    public init(loopDelayP99: Duration = .milliseconds(5), cpuShare: Double = 0.9) {
        self.loopDelayP99 = loopDelayP99
        self.cpuShare = cpuShare
    }
}

/// What the generator saw of itself during the measurement.
public struct GeneratorSummary: Sendable, Equatable, Codable {
    /// A stretch of the measurement whose figures are generator-bound, seconds from its start.
    public struct Span: Sendable, Equatable, Codable {
        public var fromSeconds: Double
        public var toSeconds: Double
        /// Why, e.g. "event-loop delay p99 3.2 ms".
        public var reason: String

        public init(fromSeconds: Double, toSeconds: Double, reason: String) {
            self.fromSeconds = fromSeconds
            self.toSeconds = toSeconds
            self.reason = reason
        }

        enum CodingKeys: String, CodingKey {
            case fromSeconds = "from_s"
            case toSeconds = "to_s"
            case reason
        }

        /// "figures from 12.4 s to 14.1 s are generator-bound: event-loop delay p99 3.2 ms"
        public var sentence: String {
            String(format: "figures from %.1f s to %.1f s are generator-bound: ", fromSeconds, toSeconds) + reason
        }
    }

    /// True when any stretch of the measurement passed a bound (`generator.bound` in the JSON): a
    /// threshold can fail the run on it.
    public var bound: Bool { !spans.isEmpty }
    public var spans: [Span]
    /// Scheduled-to-run delay of the probe task on every event loop, over the whole measurement, µs.
    public var loopDelayP99Us: UInt64
    public var loopDelayMaxUs: UInt64
    /// The highest one-second CPU share of the process (1.0 = every core it may use, busy).
    public var cpuShareMax: Double
    /// The bounds the spans were judged against.
    public var loopDelayBoundUs: UInt64
    public var cpuShareBound: Double

    public init(
        spans: [Span],
        loopDelayP99Us: UInt64,
        loopDelayMaxUs: UInt64,
        cpuShareMax: Double,
        loopDelayBoundUs: UInt64,
        cpuShareBound: Double
    ) {
        self.spans = spans
        self.loopDelayP99Us = loopDelayP99Us
        self.loopDelayMaxUs = loopDelayMaxUs
        self.cpuShareMax = cpuShareMax
        self.loopDelayBoundUs = loopDelayBoundUs
        self.cpuShareBound = cpuShareBound
    }

    enum CodingKeys: String, CodingKey {
        case bound, spans
        case loopDelayP99Us = "loop_delay_p99_us"
        case loopDelayMaxUs = "loop_delay_max_us"
        case cpuShareMax = "cpu_share_max"
        case loopDelayBoundUs = "loop_delay_bound_us"
        case cpuShareBound = "cpu_share_bound"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        spans = try c.decode([Span].self, forKey: .spans)
        loopDelayP99Us = try c.decode(UInt64.self, forKey: .loopDelayP99Us)
        loopDelayMaxUs = try c.decode(UInt64.self, forKey: .loopDelayMaxUs)
        cpuShareMax = try c.decode(Double.self, forKey: .cpuShareMax)
        loopDelayBoundUs = try c.decode(UInt64.self, forKey: .loopDelayBoundUs)
        cpuShareBound = try c.decode(Double.self, forKey: .cpuShareBound)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(bound, forKey: .bound)
        try c.encode(spans, forKey: .spans)
        try c.encode(loopDelayP99Us, forKey: .loopDelayP99Us)
        try c.encode(loopDelayMaxUs, forKey: .loopDelayMaxUs)
        try c.encode(cpuShareMax, forKey: .cpuShareMax)
        try c.encode(loopDelayBoundUs, forKey: .loopDelayBoundUs)
        try c.encode(cpuShareBound, forKey: .cpuShareBound)
    }
}

/// The generator watches itself (wrk2 and k6 warn the same way): a probe task on every event loop,
/// re-scheduled every `period`, measures how late each loop runs what it was asked to run; each second
/// the process's CPU share is read from /proc/self/stat. `sample(now:)` (once per collector interval)
/// judges the interval against the bounds; `summary()` says which stretches were generator-bound.
package final class GeneratorMonitor: Sendable {
    package let bounds: GeneratorBounds
    private let loops: [any EventLoop]
    private let period: TimeAmount
    private let running = NIOLockedValueBox(false)
    private let state: NIOLockedValueBox<State>

    struct State {
        /// Delays of probes that ran in the current interval, and the earliest deadline among those
        /// over the bound (where the stall began).
        var interval = LatencyHistogram()
        var lateSince: UInt64?
        var whole = LatencyHistogram()
        var lastSample: UInt64
        var lastCPU: UInt64?
        var cpuShareMax = 0.0
        var spans: [GeneratorSummary.Span] = []
    }

    /// Monotonic ns the measurement started at: spans are counted from it.
    private let origin: UInt64

    package init(
        loops: [any EventLoop],
        origin: UInt64,
        bounds: GeneratorBounds = GeneratorBounds(),
        period: TimeAmount = .milliseconds(10)
    ) {
        self.loops = loops
        self.origin = origin
        self.bounds = bounds
        self.period = period
        state = NIOLockedValueBox(State(lastSample: origin, lastCPU: ProcessCPU.read()))
    }

    /// The loops of a group (MultiThreadedEventLoopGroup lists them).
    package static func loops(of group: any EventLoopGroup) -> [any EventLoop] {
        Array(group.makeIterator())
    }

    package func start() {
        running.withLockedValue { $0 = true }
        for loop in loops {
            let deadline = NIODeadline.now() + period
            loop.execute { self.arm(loop, deadline: deadline) }
        }
    }

    package func stop() {
        running.withLockedValue { $0 = false }
    }

    private func arm(_ loop: any EventLoop, deadline: NIODeadline) {
        guard running.withLockedValue({ $0 }) else { return }
        loop.scheduleTask(deadline: deadline) {
            let now = NIODeadline.now()
            let late = now > deadline ? UInt64((now - deadline).nanoseconds) : 0
            self.probeRan(late: late, deadline: deadline.uptimeNanoseconds)
            self.arm(loop, deadline: now + self.period)
        }
    }

    private func probeRan(late: UInt64, deadline: UInt64) {
        let bound = UInt64(bounds.loopDelayP99.nanoseconds)
        let step = UInt64(period.nanoseconds)
        state.withLockedValue { state in
            // A loop stalled for L missed L / period probes, each late by less: record them too (as
            // HdrHistogram's expected-interval correction and wrk2 do), so one long stall weighs as long
            // as it lasted, not as one sample.
            var delay = late
            var recorded = 0
            repeat {
                state.interval.record(nanoseconds: delay)
                state.whole.record(nanoseconds: delay)
                recorded += 1
                delay = delay > step ? delay - step : 0
            } while delay > 0 && recorded < 10_000
            if late > bound, state.lateSince.map({ deadline < $0 }) ?? true { state.lateSince = deadline }
        }
    }

    /// Judges the interval since the last sample; called once per collector interval. Returns the
    /// interval's figures for the metrics push.
    @discardableResult
    package func sample(now: UInt64 = RunClock.now()) -> MetricsSnapshot.GeneratorStatus {
        let cpu = ProcessCPU.read()
        return state.withLockedValue { state in
            let wall = now &- state.lastSample
            var reasons: [String] = []
            var from = state.lastSample
            let p99 = state.interval.isEmpty ? 0 : state.interval.value(atPercentile: 99)
            var share = 0.0
            if !state.interval.isEmpty {
                if p99 * 1000 > UInt64(bounds.loopDelayP99.nanoseconds) {
                    reasons.append("event-loop delay p99 \(ReportFormat.latency(p99))")
                    if let since = state.lateSince, since < from { from = since }
                }
            }
            if let cpu, let last = state.lastCPU, wall > 0 {
                share = Double(cpu &- last) / Double(wall) / Double(ProcessCPU.usableCores)
                state.cpuShareMax = max(state.cpuShareMax, share)
                if share > bounds.cpuShare {
                    reasons.append(
                        String(format: "generator CPU %.0f%% of %d cores", share * 100, ProcessCPU.usableCores)
                    )
                }
            }
            if !reasons.isEmpty {
                let span = GeneratorSummary.Span(
                    fromSeconds: Self.seconds(from >= origin ? from - origin : 0),
                    toSeconds: Self.seconds(now >= origin ? now - origin : 0),
                    reason: reasons.joined(separator: ", ")
                )
                if let last = state.spans.last, last.toSeconds >= span.fromSeconds - 0.001 {
                    state.spans[state.spans.count - 1].toSeconds = span.toSeconds
                    if !last.reason.contains(span.reason) { state.spans[state.spans.count - 1].reason = span.reason }
                } else {
                    state.spans.append(span)
                }
            }
            state.interval.reset()
            state.lateSince = nil
            state.lastSample = now
            if let cpu { state.lastCPU = cpu }
            return MetricsSnapshot.GeneratorStatus(
                bound: !state.spans.isEmpty,
                loopDelayP99Seconds: Double(p99) / 1e6,
                cpuShare: share
            )
        }
    }

    private static func seconds(_ ns: UInt64) -> Double { (Double(ns) / 1e8).rounded() / 10 }

    package func summary() -> GeneratorSummary {
        state.withLockedValue { state in
            GeneratorSummary(
                spans: state.spans,
                loopDelayP99Us: state.whole.value(atPercentile: 99),
                loopDelayMaxUs: state.whole.max,
                cpuShareMax: (state.cpuShareMax * 1000).rounded() / 1000,
                loopDelayBoundUs: UInt64(bounds.loopDelayP99.nanoseconds / 1000),
                cpuShareBound: bounds.cpuShare
            )
        }
    }
}

/// The process's own CPU time, from /proc/self/stat (utime + stime), in ns.
enum ProcessCPU {
    static let ticksPerSecond = UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))

    /// Cores the process may run on (Foundation reads the affinity mask and cgroup quota on Linux).
    static let usableCores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    static func read() -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name: state is field 3; utime and stime are 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return nil }
        return (user + system) * 1_000_000_000 / ticksPerSecond
    }
}
