import NIOConcurrencyHelpers
import StormMetrics
import ZooKeeperProtocol

/// What failover did during a run, across every session: connections lost, reconnects and how long
/// each took (Disconnected to SyncConnected on the same session), expirations, and the new sessions
/// opened to replace expired ones. Each measured interval also records what changed in it, with the
/// errors of that interval by result code, so a report shows when a fault hit and what it cost.
package final class FailoverAccounting: Sendable {
    struct State {
        var connectionLosses: UInt64 = 0
        var reconnects: UInt64 = 0
        var expirations: UInt64 = 0
        var replacements: UInt64 = 0
        var replacementFailures: UInt64 = 0
        var watchesRecreated: UInt64 = 0
        var reconnectTime = LatencyHistogram()
        var replacementTime = LatencyHistogram()
        var intervals: [FailoverSummary.Interval] = []
        /// The longest reconnect completed since the previous interval, ns.
        var intervalReconnectMax: UInt64 = 0
        /// Totals when the current fault window opened, and its longest reconnect (ns).
        var windowStart = Totals()
        var windowReconnectMax: UInt64 = 0
        /// Totals at the previous interval, to record each interval's share.
        var previous = Totals()
    }

    struct Totals {
        var connectionLosses: UInt64 = 0
        var reconnects: UInt64 = 0
        var expirations: UInt64 = 0
        var replacements: UInt64 = 0
        var errorsByCode: [String: UInt64] = [:]
    }

    private let state = NIOLockedValueBox(State())

    package init() {}

    func connectionLost() {
        state.withLockedValue { $0.connectionLosses += 1 }
    }

    /// The same session is connected again, `nanoseconds` after it lost its connection.
    func reconnected(afterNanoseconds nanoseconds: UInt64) {
        state.withLockedValue {
            $0.reconnects += 1
            $0.reconnectTime.record(nanoseconds: nanoseconds)
            $0.intervalReconnectMax = max($0.intervalReconnectMax, nanoseconds)
            $0.windowReconnectMax = max($0.windowReconnectMax, nanoseconds)
        }
    }

    func expired() {
        state.withLockedValue { $0.expirations += 1 }
    }

    /// A new session took over from an expired one, `nanoseconds` after the expiry was seen.
    func replaced(afterNanoseconds nanoseconds: UInt64) {
        state.withLockedValue {
            $0.replacements += 1
            $0.replacementTime.record(nanoseconds: nanoseconds)
        }
    }

    func replacementAttemptFailed() {
        state.withLockedValue { $0.replacementFailures += 1 }
    }

    func watchesRecreated(_ count: Int) {
        state.withLockedValue { $0.watchesRecreated += UInt64(count) }
    }

    /// What failed between two faults, counted exactly (not by one-second interval).
    struct Window: Sendable, Equatable {
        var connectionLosses: UInt64
        var reconnects: UInt64
        var expirations: UInt64
        /// The longest reconnect completed in the window, ns (0: none).
        var reconnectMaxNanos: UInt64
        /// When the last request failed before the window closed (RunClock ns, 0: none), set by the
        /// fault injector.
        var lastFailureAt: UInt64 = 0
    }

    /// Closes the window opened by the previous call (or by the start) and opens the next.
    func closeWindow() -> Window {
        state.withLockedValue { state in
            let start = state.windowStart
            defer {
                state.windowStart = Totals(
                    connectionLosses: state.connectionLosses,
                    reconnects: state.reconnects,
                    expirations: state.expirations
                )
                state.windowReconnectMax = 0
            }
            return Window(
                connectionLosses: state.connectionLosses - start.connectionLosses,
                reconnects: state.reconnects - start.reconnects,
                expirations: state.expirations - start.expirations,
                reconnectMaxNanos: state.windowReconnectMax
            )
        }
    }

    package var connectionLosses: UInt64 { state.withLockedValue { $0.connectionLosses } }
    package var reconnects: UInt64 { state.withLockedValue { $0.reconnects } }
    package var expirations: UInt64 { state.withLockedValue { $0.expirations } }

    /// Called at each measured interval with everything recorded so far; keeps what changed since the
    /// previous one (intervals where nothing failed are kept too, so the series has no holes).
    func interval(at seconds: Double, cumulative: RecordedInterval) {
        var errors: [String: UInt64] = [:]
        for (key, histogram) in cumulative.requests where key.code != .ok && !histogram.isEmpty {
            errors[key.resultName, default: 0] += histogram.count
        }
        state.withLockedValue { state in
            let previous = state.previous
            var intervalErrors: [String: UInt64] = [:]
            for (code, count) in errors where count > previous.errorsByCode[code, default: 0] {
                intervalErrors[code] = count - previous.errorsByCode[code, default: 0]
            }
            state.intervals.append(
                FailoverSummary.Interval(
                    t: seconds,
                    connectionLosses: state.connectionLosses - previous.connectionLosses,
                    reconnects: state.reconnects - previous.reconnects,
                    expirations: state.expirations - previous.expirations,
                    sessionsReplaced: state.replacements - previous.replacements,
                    errorsByCode: intervalErrors,
                    reconnectMaxUs: state.intervalReconnectMax > 0 ? state.intervalReconnectMax / 1000 : nil
                )
            )
            state.intervalReconnectMax = 0
            state.previous = Totals(
                connectionLosses: state.connectionLosses,
                reconnects: state.reconnects,
                expirations: state.expirations,
                replacements: state.replacements,
                errorsByCode: errors
            )
        }
    }

    /// The run's failover figures; `watch` comes from the watch storm when the run had one.
    func summary(watch: WatchLedger.Summary?, restores: WatchRestoreTally.Figures = .init()) -> FailoverSummary {
        state.withLockedValue { state in
            var summary = FailoverSummary(
                connectionLosses: state.connectionLosses,
                reconnects: state.reconnects,
                reconnectUs: state.reconnectTime.isEmpty ? nil : RunResult.Percentiles(state.reconnectTime),
                expirations: state.expirations,
                sessionsReplaced: state.replacements,
                replacementFailures: state.replacementFailures,
                replacementUs: state.replacementTime.isEmpty ? nil : RunResult.Percentiles(state.replacementTime),
                watchesRecreated: state.watchesRecreated,
                watch: watch,
                intervals: state.intervals
            )
            if restores.batches > 0 {
                summary.setWatchesBatches = restores.batches
                summary.watchesRestored = restores.watches
            }
            return summary
        }
    }

    /// Lossless forms for `RunResult.histograms`.
    var histograms: [String: String] {
        state.withLockedValue { state in
            var result: [String: String] = [:]
            if !state.reconnectTime.isEmpty { result["reconnect"] = state.reconnectTime.encoded() }
            if !state.replacementTime.isEmpty { result["session_replacement"] = state.replacementTime.encoded() }
            return result
        }
    }
}
