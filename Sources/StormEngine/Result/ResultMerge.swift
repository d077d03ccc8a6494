import StormMetrics

/// The `merged` section of a result made by `zkstorm report --merge`: one row per input file.
public struct MergedShards: Codable, Sendable, Equatable {
    public var shards: [Row]
    /// Latest minus earliest measurement start over the shards that recorded one (ms).
    public var startSpreadMs: Double?
    /// Shards an input names as not finished (died, or still running) and whose result is not among
    /// the inputs (absent when none).
    public var lost: [Int]? = nil
    /// The largest clock error bar of any shard against the writer (µs): the merged watch lags are
    /// exact up to it (absent without clock figures).
    public var watchLagErrorUs: Double? = nil

    public struct Row: Codable, Sendable, Equatable {
        /// The file the row came from, as given on the command line.
        public var file: String
        public var shard: ShardIdentity?
        public var durationSeconds: Double
        /// Completed requests of every operation, errors included.
        public var requests: UInt64
        public var errors: UInt64
        public var watchNotifications: UInt64
        public var watchMissed: UInt64
        /// p99 of every request of this shard (µs), from its own histograms.
        public var p99Us: UInt64
        public var interrupted: Bool

        enum CodingKeys: String, CodingKey {
            case file, shard, requests, errors, interrupted
            case durationSeconds = "duration_s"
            case watchNotifications = "watch_notifications"
            case watchMissed = "watch_missed"
            case p99Us = "p99_us"
        }
    }

    enum CodingKeys: String, CodingKey {
        case shards
        case lost
        case startSpreadMs = "start_spread_ms"
        case watchLagErrorUs = "watch_lag_error_us"
    }
}

/// Results that cannot be merged, naming the file and what is wrong with it.
public struct ResultMergeError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Joins the results of the shards of one run into one exact result: counts summed, histograms added
/// bucket by bucket (every percentile is read from the merged histogram, never averaged), storm rounds
/// and the watch ledger joined. Only the per-interval timeline p99 and a group's p99, which the result
/// keeps as figures rather than histograms, are taken as the highest shard's (an upper bound, marked so
/// in the text report).
public enum ResultMerge {
    public static func merge(_ inputs: [(file: String, result: RunResult)]) throws(ResultMergeError) -> RunResult {
        guard let first = inputs.first?.result else {
            throw ResultMergeError(message: "nothing to merge: give two or more result files")
        }
        try check(inputs)
        var merged = first
        merged.histograms = try mergedHistograms(inputs)
        merged.thresholds = nil
        merged.shard = nil
        merged.durationSeconds = inputs.map(\.result.durationSeconds).max() ?? first.durationSeconds
        merged.startedAt = inputs.map(\.result.startedAt).min() ?? first.startedAt
        merged.lateStarts = inputs.reduce(0) { $0 + $1.result.lateStarts }
        merged.interrupted = inputs.contains { $0.result.interrupted == true } ? true : nil
        merged.targetLost = inputs.lazy.compactMap(\.result.targetLost).first
        merged.sessions = RunResult.SessionSummary(
            connected: inputs.reduce(0) { $0 + $1.result.sessions.connected },
            reconnects: inputs.reduce(0) { $0 + $1.result.sessions.reconnects },
            expired: inputs.reduce(0) { $0 + $1.result.sessions.expired }
        )
        merged.operations = operations(inputs, histograms: merged, duration: merged.durationSeconds)
        merged.watch = watch(inputs, histograms: merged)
        merged.timeline = timeline(inputs.map(\.result.timeline))
        merged.rounds = rounds(inputs.map(\.result.rounds))
        merged.failover = failover(inputs, histograms: merged)
        merged.groupRates = groupRates(inputs.compactMap(\.result.groupRates))
        merged.connectPhasesUs = connectPhases(merged)
        merged.generator = generator(inputs.compactMap(\.result.generator))
        merged.merged = MergedShards(
            shards: inputs.map(row),
            startSpreadMs: startSpread(inputs),
            lost: lost(inputs),
            watchLagErrorUs: inputs.compactMap(\.result.shard?.clockErrorNs).max().map { Double($0) / 1000 }
        )
        return merged
    }

    /// Every input must be a result of the same run, each shard at most once.
    static func check(_ inputs: [(file: String, result: RunResult)]) throws(ResultMergeError) {
        let (firstFile, first) = inputs[0]
        var seenIndex: [Int: String] = [:]
        for (file, result) in inputs {
            if result.runId != first.runId {
                throw ResultMergeError(
                    message:
                        "\(file) is from run \(result.runId), \(firstFile) from run \(first.runId): merge only the shards of one run (zkstorm run --run-id ID gives them one)"
                )
            }
            if result.workload != first.workload {
                throw ResultMergeError(
                    message:
                        "\(file) ran workload \(result.workload), \(firstFile) ran \(first.workload): merge only the shards of one run"
                )
            }
            if let shard = result.shard {
                if let count = first.shard?.count, shard.count != count {
                    throw ResultMergeError(
                        message: "\(file) is shard \(shard.index)/\(shard.count), \(firstFile) is of \(count) shards"
                    )
                }
                if let other = seenIndex[shard.index] {
                    throw ResultMergeError(
                        message:
                            "\(file) and \(other) are both shard \(shard.index) of run \(shard.runId): give each shard once"
                    )
                }
                seenIndex[shard.index] = file
            }
        }
    }

    static func mergedHistograms(
        _ inputs: [(file: String, result: RunResult)]
    ) throws(ResultMergeError) -> [String: String] {
        var histograms: [String: LatencyHistogram] = [:]
        for (file, result) in inputs {
            for (key, text) in result.histograms {
                do {
                    histograms[key, default: LatencyHistogram()].merge(try LatencyHistogram(encoded: text))
                } catch {
                    throw ResultMergeError(message: "\(file): histograms.\(key): \(error.description)")
                }
            }
        }
        return histograms.mapValues { $0.encoded() }
    }

    static func operations(
        _ inputs: [(file: String, result: RunResult)],
        histograms merged: RunResult,
        duration: Double
    ) -> [String: RunResult.OperationSummary] {
        var operations: [String: RunResult.OperationSummary] = [:]
        for name in Set(inputs.flatMap { $0.result.operations.keys }) {
            let summaries = inputs.compactMap { $0.result.operations[name] }
            var errorsByCode: [String: UInt64] = [:]
            for summary in summaries { errorsByCode.merge(summary.errorsByCode, uniquingKeysWith: +) }
            let count = summaries.reduce(0) { $0 + $1.count }
            let service = merged.histogram("service:\(name)")
            operations[name] = RunResult.OperationSummary(
                count: count,
                errors: summaries.reduce(0) { $0 + $1.errors },
                errorsByCode: errorsByCode,
                opsPerSecond: duration > 0 ? Double(count) / duration : 0,
                latencyUs: RunResult.Percentiles(merged.mergedHistogram(prefix: "request:\(name):")),
                serviceTimeUs: service.map(RunResult.Percentiles.init)
            )
        }
        return operations
    }

    static func watch(
        _ inputs: [(file: String, result: RunResult)],
        histograms merged: RunResult
    ) -> RunResult.WatchSummary {
        let all = inputs.map(\.result.watch)
        let rearm = merged.histogram("watch_rearm")
        return RunResult.WatchSummary(
            notifications: all.reduce(0) { $0 + $1.notifications },
            missed: all.reduce(0) { $0 + $1.missed },
            duplicates: all.reduce(0) { $0 + $1.duplicates },
            lagUs: RunResult.Percentiles(merged.mergedHistogram(prefix: "watch_lag:")),
            fanoutUs: RunResult.FanoutPercentiles(merged.histogram("watch_fanout") ?? LatencyHistogram()),
            rearmUs: rearm.map(RunResult.Percentiles.init),
            versionsMissed: all.reduce(0) { $0 + $1.versionsMissed }
        )
    }

    /// Intervals joined by position (every shard's interval i ends i seconds after the common start).
    static func timeline(_ timelines: [[RunResult.TimelinePoint]]) -> [RunResult.TimelinePoint] {
        let length = timelines.map(\.count).max() ?? 0
        return (0..<length).map { index in
            let points = timelines.compactMap { index < $0.count ? $0[index] : nil }
            let lags = points.compactMap(\.watchLagP99Us)
            return RunResult.TimelinePoint(
                t: points.map(\.t).max() ?? 0,
                ops: points.reduce(0) { $0 + $1.ops },
                errors: points.reduce(0) { $0 + $1.errors },
                p99Us: points.map(\.p99Us).max() ?? 0,
                watchLagP99Us: lags.max(),
                intervalS: points.compactMap(\.intervalS).max()
            )
        }
    }

    /// Storm rounds joined by number: every shard's watchers heard the same writes.
    static func rounds(_ all: [[StormRoundSummary]]) -> [StormRoundSummary] {
        var byRound: [Int: StormRoundSummary] = [:]
        for summary in all.joined() {
            guard var joined = byRound[summary.round] else {
                byRound[summary.round] = summary
                continue
            }
            joined.expected += summary.expected
            joined.notified += summary.notified
            joined.missing += summary.missing
            joined.duplicates += summary.duplicates
            joined.firstNanoseconds = [joined.firstNanoseconds, summary.firstNanoseconds].compactMap { $0 }.min()
            joined.lastNanoseconds = [joined.lastNanoseconds, summary.lastNanoseconds].compactMap { $0 }.max()
            // A median of medians is not the median: left out of a joined round.
            joined.medianNanoseconds = nil
            if joined.writesFailed != nil || summary.writesFailed != nil {
                joined.writesFailed = (joined.writesFailed ?? 0) + (summary.writesFailed ?? 0)
            }
            byRound[summary.round] = joined
        }
        return byRound.keys.sorted().compactMap { byRound[$0] }
    }

    static func failover(
        _ inputs: [(file: String, result: RunResult)],
        histograms merged: RunResult
    ) -> FailoverSummary? {
        let all = inputs.compactMap(\.result.failover)
        guard var joined = all.first else { return nil }
        func sum(_ field: KeyPath<FailoverSummary, UInt64>) -> UInt64 { all.reduce(0) { $0 + $1[keyPath: field] } }
        joined.connectionLosses = sum(\.connectionLosses)
        joined.reconnects = sum(\.reconnects)
        joined.expirations = sum(\.expirations)
        joined.sessionsReplaced = sum(\.sessionsReplaced)
        joined.replacementFailures = sum(\.replacementFailures)
        joined.watchesRecreated = sum(\.watchesRecreated)
        if all.contains(where: { $0.setWatchesBatches != nil }) {
            joined.setWatchesBatches = all.reduce(0) { $0 + ($1.setWatchesBatches ?? 0) }
            joined.watchesRestored = all.reduce(0) { $0 + ($1.watchesRestored ?? 0) }
        }
        joined.reconnectUs = merged.histogram("reconnect").map(RunResult.Percentiles.init)
        joined.replacementUs = merged.histogram("session_replacement").map(RunResult.Percentiles.init)
        joined.watch = ledger(all.compactMap(\.watch))
        let length = all.map(\.intervals.count).max() ?? 0
        joined.intervals = (0..<length).map { index in
            let points = all.compactMap { index < $0.intervals.count ? $0.intervals[index] : nil }
            var errors: [String: UInt64] = [:]
            for point in points { errors.merge(point.errorsByCode, uniquingKeysWith: +) }
            return FailoverSummary.Interval(
                t: points.map(\.t).max() ?? 0,
                connectionLosses: points.reduce(0) { $0 + $1.connectionLosses },
                reconnects: points.reduce(0) { $0 + $1.reconnects },
                expirations: points.reduce(0) { $0 + $1.expirations },
                sessionsReplaced: points.reduce(0) { $0 + $1.sessionsReplaced },
                errorsByCode: errors,
                reconnectMaxUs: points.compactMap(\.reconnectMaxUs).max()
            )
        }
        return joined
    }

    /// Every shard read the same znodes' final versions, so `writes` is the highest any shard read; what
    /// was due and what arrived add up over the shards' watchers.
    static func ledger(_ all: [WatchLedger.Summary]) -> WatchLedger.Summary? {
        guard var joined = all.first else { return nil }
        joined.writes = all.map(\.writes).max() ?? 0
        joined.due = all.reduce(0) { $0 + $1.due }
        joined.received = all.reduce(0) { $0 + $1.received }
        joined.collapsed = all.reduce(0) { $0 + $1.collapsed }
        joined.missed = all.reduce(0) { $0 + $1.missed }
        joined.late = all.reduce(0) { $0 + $1.late }
        joined.excess = all.reduce(0) { $0 + $1.excess }
        joined.versionsRead = all.allSatisfy(\.versionsRead)
        return joined
    }

    /// Groups joined by name: rates add up; a group's p99 is the highest shard's (no histogram per group).
    static func groupRates(_ all: [[RunResult.GroupRate]]) -> [RunResult.GroupRate]? {
        guard !all.isEmpty else { return nil }
        var order: [String] = []
        var byGroup: [String: RunResult.GroupRate] = [:]
        for rate in all.joined() {
            guard var joined = byGroup[rate.group] else {
                order.append(rate.group)
                byGroup[rate.group] = rate
                continue
            }
            joined.achieved += rate.achieved
            if let target = rate.target { joined.target = (joined.target ?? 0) + target }
            for (name, operation) in rate.operations {
                guard var op = joined.operations[name] else {
                    joined.operations[name] = operation
                    continue
                }
                op.count += operation.count
                op.errors += operation.errors
                op.opsPerSecond += operation.opsPerSecond
                op.p99Us = max(op.p99Us, operation.p99Us)
                joined.operations[name] = op
            }
            byGroup[rate.group] = joined
        }
        return order.compactMap { byGroup[$0] }
    }

    static func connectPhases(_ merged: RunResult) -> [String: RunResult.Percentiles]? {
        var phases: [String: RunResult.Percentiles] = [:]
        for key in merged.histograms.keys where key.hasPrefix("connect:") {
            if let histogram = merged.histogram(key) {
                phases[String(key.dropFirst("connect:".count))] = RunResult.Percentiles(histogram)
            }
        }
        return phases.isEmpty ? nil : phases
    }

    static func generator(_ all: [GeneratorSummary]) -> GeneratorSummary? {
        guard var joined = all.first else { return nil }
        joined.spans = all.flatMap(\.spans).sorted { $0.fromSeconds < $1.fromSeconds }
        joined.loopDelayP99Us = all.map(\.loopDelayP99Us).max() ?? 0
        joined.loopDelayMaxUs = all.map(\.loopDelayMaxUs).max() ?? 0
        joined.cpuShareMax = all.map(\.cpuShareMax).max() ?? 0
        return joined
    }

    static func row(_ input: (file: String, result: RunResult)) -> MergedShards.Row {
        let result = input.result
        return MergedShards.Row(
            file: input.file,
            shard: result.shard,
            durationSeconds: result.durationSeconds,
            requests: result.operations.values.reduce(0) { $0 + $1.count },
            errors: result.operations.values.reduce(0) { $0 + $1.errors },
            watchNotifications: result.watch.notifications,
            watchMissed: result.watch.missed,
            p99Us: result.mergedHistogram(prefix: "request:").value(atPercentile: 99),
            interrupted: result.interrupted == true
        )
    }

    /// Shards named lost by any input, less those whose result is merged after all.
    static func lost(_ inputs: [(file: String, result: RunResult)]) -> [Int]? {
        let present = Set(inputs.compactMap(\.result.shard?.index))
        let named = Set(inputs.flatMap { $0.result.shard?.lost ?? [] }).subtracting(present)
        return named.isEmpty ? nil : named.sorted()
    }

    static func startSpread(_ inputs: [(file: String, result: RunResult)]) -> Double? {
        let starts = inputs.compactMap { $0.result.shard?.startUnixNs }
        guard let low = starts.min(), let high = starts.max(), starts.count > 1 else { return nil }
        return Double(high - low) / 1_000_000
    }
}
