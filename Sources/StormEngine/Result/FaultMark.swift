extension RunResult {
    /// One fault of the workload's `faults:` as it fired: when (seconds since measurement began), what,
    /// on which member, when it was undone, and what it cost the run until the next fault (or the end).
    public struct FaultMark: Codable, Sendable, Equatable {
        public var atS: Double
        /// drop, pause, kill, stop, resume, restart.
        public var action: String
        /// The ensemble member acted on (resolved from leader/follower when it fired).
        public var node: Int?
        /// How reports name it ("kill node 2 (leader) for 2s").
        public var label: String
        /// When `for` undid it (restart, resume).
        public var restoredAtS: Double?
        /// Why it could not act (the run went on).
        public var error: String?
        public var cost: FaultCost?

        public init(atS: Double, action: String, label: String) {
            self.atS = atS
            self.action = action
            self.label = label
        }

        enum CodingKeys: String, CodingKey {
            case action, node, label, error, cost
            case atS = "at_s"
            case restoredAtS = "restored_at_s"
        }
    }

    /// What happened from a fault until the next one (or the end of the measurement), read from the
    /// run's one-second intervals and storm rounds.
    public struct FaultCost: Codable, Sendable, Equatable {
        /// The window, seconds since measurement began.
        public var fromS: Double
        public var toS: Double
        public var connectionLosses: UInt64
        public var reconnects: UInt64
        /// The longest reconnect completed in the window (µs).
        public var reconnectMaxUs: UInt64?
        public var expirations: UInt64
        /// Failed requests, by result name.
        public var errorsByCode: [String: UInt64]
        /// Storm notifications due in the window's rounds that did not arrive.
        public var missedNotifications: Int
        /// Operations per second in the window, and in the seconds before the first fault.
        public var opsPerSecond: Double
        public var steadyOpsPerSecond: Double?
        /// Seconds from the fault's undo (or its firing, without `for`) to the last request that failed
        /// before the next fault (or the end): how long until requests all succeeded again (0: none
        /// failed after it). Nil when not measured.
        public var recoveredAfterS: Double? = nil

        enum CodingKeys: String, CodingKey {
            case reconnects, expirations
            case fromS = "from_s"
            case toS = "to_s"
            case connectionLosses = "connection_losses"
            case reconnectMaxUs = "reconnect_max_us"
            case errorsByCode = "errors_by_code"
            case missedNotifications = "missed_notifications"
            case opsPerSecond = "ops_per_second"
            case steadyOpsPerSecond = "steady_ops_per_second"
            case recoveredAfterS = "recovered_after_s"
        }
    }

    /// Fills each fault's cost: connection losses, reconnects, expirations and the slowest reconnect
    /// exactly as failover counted them between the faults (`windows`, one per fault; nil: from the
    /// one-second intervals), errors and throughput from the intervals (one counts for the window its
    /// end falls in), missed notifications from the rounds that started in the window.
    mutating func attributeFaultCosts(windows: [FailoverAccounting.Window?], measureStart: UInt64? = nil) {
        guard var marks = faults, !marks.isEmpty else { return }
        let intervals = failover?.intervals ?? []
        let plotted = timeline
        let firstFault = marks.map(\.atS).min() ?? 0
        let before = plotted.filter { $0.t <= firstFault }
        let beforeSeconds = before.reduce(0.0) { $0 + ($1.intervalS ?? 1) }
        let steady = beforeSeconds > 0 ? Double(before.reduce(0) { $0 + $1.ops }) / beforeSeconds : nil
        for index in marks.indices {
            let from = marks[index].atS
            let to = index + 1 < marks.count ? marks[index + 1].atS : max(durationSeconds, from)
            // An interval ending inside (from, to + 1): the second the fault landed in counts for it.
            let inWindow = intervals.filter { $0.t > from && $0.t <= to + (index + 1 < marks.count ? 0 : 1) }
            var errors: [String: UInt64] = [:]
            for interval in inWindow { errors.merge(interval.errorsByCode, uniquingKeysWith: +) }
            let points = plotted.filter { $0.t > from && $0.t <= to }
            let seconds = points.reduce(0.0) { $0 + ($1.intervalS ?? 1) }
            let missed = rounds.filter { round in round.atS.map { $0 >= from && $0 < to } ?? false }
                .reduce(0) { $0 + $1.missing }
            let exact = index < windows.count ? windows[index] : nil
            marks[index].cost = FaultCost(
                fromS: from,
                toS: to,
                connectionLosses: exact?.connectionLosses ?? inWindow.reduce(0) { $0 + $1.connectionLosses },
                reconnects: exact?.reconnects ?? inWindow.reduce(0) { $0 + $1.reconnects },
                reconnectMaxUs: exact.map { $0.reconnectMaxNanos > 0 ? $0.reconnectMaxNanos / 1000 : nil }
                    ?? inWindow.compactMap(\.reconnectMaxUs).max(),
                expirations: exact?.expirations ?? inWindow.reduce(0) { $0 + $1.expirations },
                errorsByCode: errors,
                missedNotifications: missed,
                opsPerSecond: seconds > 0 ? Double(points.reduce(0) { $0 + $1.ops }) / seconds : 0,
                steadyOpsPerSecond: steady
            )
            if let measureStart, let exact, exact.lastFailureAt > 0 {
                let back = marks[index].restoredAtS ?? from
                let lastFailure = Double(Int64(bitPattern: exact.lastFailureAt &- measureStart)) / 1e9
                marks[index].cost?.recoveredAfterS = max(0, lastFailure - back)
            } else if measureStart != nil, exact != nil {
                marks[index].cost?.recoveredAfterS = 0
            }
        }
        faults = marks
    }
}
