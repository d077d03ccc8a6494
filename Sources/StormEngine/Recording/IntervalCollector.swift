import Atomics
import Foundation
import NIOConcurrencyHelpers
import StormMetrics

/// Once a second, drains every recorder of the run into the cumulative result and the timeline, and
/// reports the interval (live line, metrics push). Warm-up intervals are drained and dropped.
public final class IntervalCollector: Sendable {
    struct State {
        var recorders: [OperationRecorder] = []
        /// The operation group of each recorder (nil: watch storm and others).
        var recorderGroups: [Int?] = []
        /// Everything measured, per operation group.
        var groupCumulative: [Int: RecordedInterval] = [:]
        var scratch = RecordedInterval()
        var cumulative = RecordedInterval()
        var interval = RecordedInterval()
        var timeline: [RunResult.TimelinePoint] = []
        var measureStart: UInt64?
        var lastCollect: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// When (RunClock ns) any recorder last recorded a failed request (0: none yet).
    var lastFailureAt: UInt64 {
        state.withLockedValue { $0.recorders.map { $0.lastFailureAt.load(ordering: .relaxed) }.max() ?? 0 }
    }

    package func add(_ recorder: OperationRecorder, group: Int? = nil) {
        state.withLockedValue {
            $0.recorders.append(recorder)
            $0.recorderGroups.append(group)
        }
    }

    /// Everything measured so far by each operation group (by group index).
    public var groupCumulative: [Int: RecordedInterval] { state.withLockedValue { $0.groupCumulative } }

    /// Drops everything recorded so far (warm-up) and starts measuring at `now`.
    public func beginMeasurement(at now: UInt64) {
        state.withLockedValue { state in
            for recorder in state.recorders { recorder.discard() }
            state.measureStart = now
            state.lastCollect = now
        }
    }

    public var measureStart: UInt64? { state.withLockedValue { $0.measureStart } }

    /// One interval's figures, for the live line and the metrics push.
    public struct Tick: Sendable {
        public var elapsedSeconds: Double
        public var point: RunResult.TimelinePoint
        /// Everything measured so far (cumulative).
        public var cumulative: RecordedInterval
    }

    /// Drains the recorders; while measuring, adds the interval to the result and returns its tick.
    @discardableResult
    public func collect(now: UInt64) -> Tick? {
        state.withLockedValue { state in
            state.interval.resetKeepingStorage()
            let measuring = state.measureStart != nil
            for (recorder, group) in zip(state.recorders, state.recorderGroups) {
                guard let group, measuring else {
                    recorder.drain(into: &state.interval)
                    continue
                }
                state.scratch.resetKeepingStorage()
                recorder.drain(into: &state.scratch)
                state.interval.merge(state.scratch)
                state.groupCumulative[group, default: RecordedInterval()].merge(state.scratch)
            }
            guard let start = state.measureStart else { return nil }
            let length = Double(now &- state.lastCollect) / 1e9
            state.lastCollect = now
            state.cumulative.merge(state.interval)
            var all = LatencyHistogram()
            for histogram in state.interval.requests.values { all.merge(histogram) }
            let lag = state.interval.allWatchLag
            let point = RunResult.TimelinePoint(
                t: (Double(now &- start) / 1e9 * 1000).rounded() / 1000,
                ops: all.count,
                errors: state.interval.errorCount,
                p99Us: all.value(atPercentile: 99),
                watchLagP99Us: lag.isEmpty ? nil : lag.value(atPercentile: 99),
                intervalS: (length * 1000).rounded() / 1000
            )
            if length > 0.001 { state.timeline.append(point) }
            return Tick(elapsedSeconds: Double(now &- start) / 1e9, point: point, cumulative: state.cumulative)
        }
    }

    public var cumulative: RecordedInterval { state.withLockedValue { $0.cumulative } }
    public var timeline: [RunResult.TimelinePoint] { state.withLockedValue { $0.timeline } }

    /// Collects every second (counted from the start of measurement) until `stop` is set; `onTick`
    /// gets each measured interval.
    public func run(stop: StopFlag, onTick: @escaping @Sendable (Tick) -> Void) async {
        var next = (measureStart ?? RunClock.now()) + 1_000_000_000
        while !stop.isSet && !Task.isCancelled {
            let now = RunClock.now()
            if now < next {
                try? await Task.sleep(nanoseconds: min(next - now, 50_000_000))
                continue
            }
            next += 1_000_000_000
            if let tick = collect(now: now) { onTick(tick) }
        }
    }
}

/// The one-line progress display, redrawn in place each second on a terminal.
package enum LiveLine {
    package static func render(_ tick: IntervalCollector.Tick, intervalSeconds: Double = 1) -> String {
        let p = tick.point
        var line = String(format: "%6.1fs  %9.0f ops/s", tick.elapsedSeconds, Double(p.ops) / intervalSeconds)
        line += "  p99 \(ReportFormat.latency(p.p99Us))  errors \(p.errors)"
        if let lag = p.watchLagP99Us { line += "  watch lag p99 \(ReportFormat.latency(lag))" }
        return line
    }

    package static var stdoutIsTerminal: Bool { TerminalOutput.standardOutputIsTerminal }

    package static func draw(_ text: String) { TerminalOutput.drawLiveLine(text) }

    package static func finish() { TerminalOutput.finishLiveLine() }
}
