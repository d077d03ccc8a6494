import Foundation
import NIOConcurrencyHelpers
import StormMetrics

/// `zkstorm run --hlog FILE`: each interval of the live line becomes one HdrHistogram interval-log
/// line per tag: every operation by its JSON name (`get`, `set`, … — every completed request, errors
/// included), `watch_lag` (all kinds) and `watch_fanout`. Intervals are the differences of the
/// cumulative histograms at consecutive ticks, so the lines of a tag add up to the JSON's count.
public final class HlogRecorder: Sendable {
    public let path: String
    private struct State {
        var writer: HdrIntervalLogWriter?
        var previous: [String: LatencyHistogram] = [:]
        var previousElapsed: Double = 0
        var failure: String?
    }
    private let state = NIOLockedValueBox(State())

    public init(path: String) {
        self.path = path
    }

    /// The cumulative histograms of a tick, by tag.
    static func tagged(_ cumulative: RecordedInterval) -> [(String, LatencyHistogram)] {
        var tags = cumulative.operations.map { ($0.name, cumulative.latency(of: $0)) }
        if !cumulative.watchLag.isEmpty { tags.append(("watch_lag", cumulative.allWatchLag)) }
        if !cumulative.watchFanout.isEmpty { tags.append(("watch_fanout", cumulative.watchFanout)) }
        return tags
    }

    /// Appends the interval that ends at `tick`; the first tick also writes the headers.
    public func record(_ tick: IntervalCollector.Tick) {
        record(elapsedSeconds: tick.elapsedSeconds, Self.tagged(tick.cumulative))
    }

    /// Appends the interval that ends `elapsedSeconds` after the start, from each tag's cumulative
    /// histogram (`zkstorm replay --hlog` has tags of its own); the first call writes the headers.
    public func record(elapsedSeconds: Double, _ tagged: [(String, LatencyHistogram)]) {
        state.withLockedValue { state in
            guard state.failure == nil else { return }
            do {
                let writer: HdrIntervalLogWriter
                if let existing = state.writer {
                    writer = existing
                } else {
                    writer = try HdrIntervalLogWriter(path: path, start: Date() - elapsedSeconds)
                    state.writer = writer
                }
                let length = max(0, elapsedSeconds - state.previousElapsed)
                for (tag, cumulative) in tagged {
                    let interval = state.previous[tag].map { cumulative.subtracting($0) } ?? cumulative
                    try writer.append(
                        tag: tag,
                        startSeconds: state.previousElapsed,
                        lengthSeconds: length,
                        histogram: interval
                    )
                    state.previous[tag] = cumulative
                }
                state.previousElapsed = elapsedSeconds
            } catch {
                state.failure = "\(error)"
            }
        }
    }

    /// Closes the file; the first write error, if any, naming the file.
    public func finish() -> String? {
        state.withLockedValue { state in
            if let writer = state.writer {
                do { try writer.close() } catch { state.failure = state.failure ?? "\(error)" }
            }
            return state.failure.map { "--hlog \(path): \($0)" }
        }
    }
}
