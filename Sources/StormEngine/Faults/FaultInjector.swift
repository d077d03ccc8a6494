import Logging
import NIOConcurrencyHelpers
import ZooKeeperServer

/// Fires a run's `faults:` on time during the measurement and undoes those with `for`; each one fired
/// becomes a mark in the result (what, on which member, when, and when it was undone). A run that
/// ends, or is interrupted, while a fault still holds undoes it at once, so the target is left as the
/// run found it.
final class FaultInjector: Sendable {
    enum Target: Sendable {
        case builtIn(ZooKeeperServer)
        case ensemble(EnsembleControl)
    }

    let faults: [FaultSpec]
    let target: Target
    let logger: Logger
    private let marks = NIOLockedValueBox<[RunResult.FaultMark]>([])
    /// Per mark: what failover counted from its firing to the next fault's (or the run's end).
    private let windows = NIOLockedValueBox<[FailoverAccounting.Window]>([])
    /// The members each mark acted on (several for `node: all`), by mark index, for its undo.
    private let actedOn = NIOLockedValueBox<[Int: [Int]]>([:])
    /// Faults with a `for` that are firing or in force (not yet undone).
    private let inForceCount = NIOLockedValueBox(0)

    /// Whether a fault with a `for` is firing or in force: the run's target-lost watchdog does not give
    /// up on a target the run itself stopped and will bring back.
    var faultInForce: Bool { inForceCount.withLockedValue { $0 > 0 } }

    init(faults: [FaultSpec], target: Target, logger: Logger) {
        self.faults = faults
        self.target = target
        self.logger = logger
    }

    /// Checks before the run that every fault can act on the target: built-in actions need the
    /// built-in server, member actions an ensemble `scripts/ensemble` controls.
    static func prepare(
        _ faults: [FaultSpec],
        server: ZooKeeperServer?,
        connectString: String,
        logger: Logger
    ) async throws(RunError) -> FaultInjector? {
        guard !faults.isEmpty else { return nil }
        try FaultSpec.check(faults, target: server == nil ? connectString : nil)
        if let server { return FaultInjector(faults: faults, target: .builtIn(server), logger: logger) }
        let control = EnsembleControl.fromEnvironment()
        try await control.validate(connectString: connectString)
        return FaultInjector(faults: faults, target: .ensemble(control), logger: logger)
    }

    /// The faults that fired, in order (with their undo time when they had one), each with the
    /// connection losses, reconnects and expirations failover counted until the next one.
    var fired: [(mark: RunResult.FaultMark, window: FailoverAccounting.Window?)] {
        let windows = windows.withLockedValue { $0 }
        return marks.withLockedValue { $0 }.enumerated().map { index, mark in
            (mark, index < windows.count ? windows[index] : nil)
        }
    }

    /// Fires every fault at `measureStart + at` until `stop` is set; returns when every undo is done.
    /// `failover`'s windows delimit each fault's cost: one opens as a fault fires, the last closes
    /// when the measurement is over.
    /// `lastFailureAt` tells when a request last failed, so each fault's window knows how long after
    /// it requests still failed.
    func run(
        measureStart: UInt64,
        stop: StopFlag,
        failover: FailoverAccounting,
        lastFailureAt: @escaping @Sendable () -> UInt64 = { 0 }
    ) async {
        _ = failover.closeWindow()
        defer {
            var last = failover.closeWindow()
            last.lastFailureAt = lastFailureAt()
            if !marks.withLockedValue({ $0.isEmpty }) { windows.withLockedValue { $0.append(last) } }
        }
        await withTaskGroup(of: Void.self) { group in
            for fault in faults {
                await StormRun.sleep(until: measureStart + UInt64(fault.at.nanoseconds), stop: stop)
                if stop.isSet { break }
                var window = failover.closeWindow()
                window.lastFailureAt = lastFailureAt()
                if !marks.withLockedValue({ $0.isEmpty }) { windows.withLockedValue { $0.append(window) } }
                if fault.duration != nil { inForceCount.withLockedValue { $0 += 1 } }
                let index = await fire(fault, measureStart: measureStart)
                guard let duration = fault.duration else { continue }
                guard let index else {
                    inForceCount.withLockedValue { $0 -= 1 }
                    continue
                }
                group.addTask {
                    let due = measureStart + UInt64(fault.at.nanoseconds) + UInt64(duration.nanoseconds)
                    await StormRun.sleep(until: due, stop: stop)
                    await self.undo(index, measureStart: measureStart)
                    self.inForceCount.withLockedValue { $0 -= 1 }
                }
            }
        }
    }

    /// Applies one fault and records it; returns its mark's index (nil when it could not act).
    private func fire(_ fault: FaultSpec, measureStart: UInt64) async -> Int? {
        var mark = RunResult.FaultMark(
            atS: Self.seconds(since: measureStart),
            action: fault.action.rawValue,
            label: fault.action.rawValue
        )
        var applied = true
        var nodes: [Int] = []
        do {
            switch target {
            case .builtIn(let server):
                switch fault.action {
                case .drop:
                    let dropped = await server.dropAllConnections()
                    mark.label = "drop \(dropped) connection\(dropped == 1 ? "" : "s")"
                default:
                    await server.pause()
                    mark.label = "pause the server"
                }
            case .ensemble(let control):
                let member = fault.member ?? .leader
                let targets = try await control.resolveAll(member)
                if member != .all { mark.node = targets[0] }
                switch member {
                case .all: mark.label = "\(fault.action.rawValue) all \(targets.count) nodes"
                case .id: mark.label = "\(fault.action.rawValue) node \(targets[0])"
                default: mark.label = "\(fault.action.rawValue) node \(targets[0]) (\(member))"
                }
                // One after the other (scripts/ensemble is not run twice at once), within moments.
                for node in targets {
                    try await control.act(Self.verb(fault.action), node: node)
                    nodes.append(node)
                }
            }
        } catch {
            // Members already acted on (of `node: all`) are still undone after `for`.
            applied = !nodes.isEmpty
            mark.error = error.message
            logger.warning("fault \(fault.action.rawValue) failed: \(error.message)")
        }
        if let duration = fault.duration, applied { mark.label += " for \(DurationText.format(duration))" }
        let index = marks.withLockedValue { marks in
            marks.append(mark)
            return marks.count - 1
        }
        actedOn.withLockedValue { $0[index] = nodes }
        return applied ? index : nil
    }

    /// Undoes the fault of mark `index`: resume the built-in server, restart a killed member, resume a
    /// stopped one.
    private func undo(_ index: Int, measureStart: UInt64) async {
        let mark = marks.withLockedValue { $0[index] }
        var failure: String?
        switch target {
        case .builtIn(let server):
            await server.resume()
        case .ensemble(let control):
            let nodes = actedOn.withLockedValue { $0[index] ?? [] }
            for node in nodes {
                do {
                    try await control.act(mark.action == "kill" ? "restart" : "resume", node: node)
                } catch {
                    failure = error.message
                    logger.warning("undoing \(mark.label) on node \(node) failed: \(error.message)")
                }
            }
        }
        let at = Self.seconds(since: measureStart)
        marks.withLockedValue {
            $0[index].restoredAtS = at
            if let failure { $0[index].error = failure }
        }
    }

    static func verb(_ action: FaultSpec.Action) -> String {
        switch action {
        case .stop: "pause"  // scripts/ensemble's SIGSTOP verb
        default: action.rawValue
        }
    }

    static func seconds(since start: UInt64) -> Double {
        Double(Int64(bitPattern: RunClock.now() &- start)) / 1e9
    }
}
