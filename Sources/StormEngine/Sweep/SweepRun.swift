import Foundation
import Logging
import NIOConcurrencyHelpers

/// `zkstorm sweep`: one full run (warm-up included) per value of the varied parameter and per target,
/// the targets' points interleaved so a drift of the machine touches every curve alike; or a capacity
/// search over the open-loop rate. Each run is an ordinary `StormRun` with its own root, removed after it.
public final class SweepRun: Sendable {
    public let workload: Workload
    /// Connect strings; nil is the built-in server (a fresh one per point).
    public let targets: [String?]
    /// Pass/fail criteria for every point, and what a capacity search must hold.
    public let slos: [Threshold]
    public let security: ClientSecurity
    public let logger: Logger
    /// After each point: the point, its 1-based number and how many are planned (nil for a search).
    public let onPoint: (@Sendable (SweepPoint, Int, Int?) -> Void)?
    public let sweepId: String
    private let current = NIOLockedValueBox<StormRun?>(nil)
    private let stopped = NIOLockedValueBox<Bool>(false)

    public init(
        workload: Workload,
        targets: [String?] = [nil],
        slos: [Threshold] = [],
        security: ClientSecurity = ClientSecurity(),
        logger: Logger,
        sweepId: String = RunIdentifier.make(),
        onPoint: (@Sendable (SweepPoint, Int, Int?) -> Void)? = nil
    ) {
        self.workload = workload
        self.targets = targets.isEmpty ? [nil] : targets
        self.slos = slos
        self.security = security
        self.logger = logger
        self.sweepId = sweepId
        self.onPoint = onPoint
    }

    /// Ctrl-C: the running point ends early (its report and cleanup still happen) and no other starts.
    public func interrupt() {
        stopped.withLockedValue { $0 = true }
        current.withLockedValue { $0 }?.interrupt()
    }

    private var isStopped: Bool { stopped.withLockedValue { $0 } }

    /// Checks every point's workload before the first run, so a bad value fails in a second, not an hour in.
    public func validate(_ axis: SweepAxis) throws(SweepError) {
        for value in axis.values.values { _ = try axis.parameter.apply(value, to: workload) }
    }

    /// Runs every value on every target.
    public func sweep(_ axis: SweepAxis) async -> SweepResult {
        var result = emptyResult(parameter: axis.parameter, values: axis.values)
        let planned = axis.values.values.count * targets.count
        for value in axis.values.values {
            for target in targets {
                guard !isStopped else {
                    result.interrupted = true
                    return result
                }
                do {
                    let (point, lost) = try await runPoint(axis.parameter, value, target: target)
                    result.points.append(point)
                    onPoint?(point, result.points.count, planned)
                    if let lost {
                        result.failure = SweepResult.Failure(message: lost.message, exitCode: lost.exitCode)
                        return result
                    }
                    if point.result.interrupted == true {
                        result.interrupted = true
                        return result
                    }
                } catch {
                    result.failure = SweepResult.Failure(message: error.message, exitCode: error.exitCode)
                    return result
                }
            }
        }
        result.targets = labels(result)
        return result
    }

    /// The highest open-loop rate at which every SLO holds, per target.
    public func findMaximumRate(
        start: Double?,
        resolution: CapacitySearch.Resolution
    ) async throws(SweepError)
        -> SweepResult
    {
        guard !slos.isEmpty else {
            throw SweepError(.usage, "--find-max rate needs at least one --slo, e.g. --slo 'get.p99<10ms'")
        }
        guard !workload.groups.isEmpty else {
            throw SweepError(.usage, "--find-max rate searches the operation groups' rate, and this workload has none")
        }
        let plan: SessionPlan
        do {
            plan = try workload.sessionPlan()
        } catch {
            throw SweepError(.usage, error.message)
        }
        let ceiling = Double(plan.groupSessions.reduce(0, +)) * Workload.maximumRatePerSession
        let offered = workload.groups.compactMap { group -> Double? in
            if case .open(let rate, _, _) = group.load { return rate }
            return nil
        }.reduce(0, +)
        let search = CapacitySearch(
            start: start ?? (offered > 0 ? offered : 1000),
            ceiling: ceiling,
            resolution: resolution
        )
        var result = emptyResult(parameter: .rate, values: SweepValues(values: []))
        for target in targets {
            guard !isStopped else { break }
            let box = NIOLockedValueBox<[SweepPoint]>([])
            do {
                let outcome = try await search.run { rate in
                    guard !self.isStopped else { throw SweepStop.interrupted }
                    let (point, lost) = try await self.runPoint(.rate, rate, target: target)
                    box.withLockedValue { $0.append(point) }
                    self.onPoint?(point, result.points.count + box.withLockedValue { $0.count }, nil)
                    if let lost { throw lost }
                    if point.result.interrupted == true { throw SweepStop.interrupted }
                    return point.passed
                }
                result.points += box.withLockedValue { $0 }
                result.searches =
                    (result.searches ?? []) + [
                        SweepResult.CapacitySummary(
                            target: target ?? "built-in",
                            highestPassingRate: outcome.highestPassing,
                            lowestFailingRate: outcome.lowestFailing,
                            resolution: resolution.description,
                            ceiling: ceiling,
                            steps: outcome.steps
                        )
                    ]
            } catch let error as SweepError {
                result.points += box.withLockedValue { $0 }
                result.failure = SweepResult.Failure(message: error.message, exitCode: error.exitCode)
                break
            } catch {
                result.points += box.withLockedValue { $0 }
                result.interrupted = true
                break
            }
        }
        result.values = result.points.map(\.value)
        result.targets = labels(result)
        return result
    }

    private enum SweepStop: Error { case interrupted }

    private func emptyResult(parameter: SweepParameter, values: SweepValues) -> SweepResult {
        SweepResult(
            sweepId: sweepId,
            workload: workload.name,
            parameter: parameter,
            values: values.values,
            logSpaced: values.logSpaced,
            targets: targets.map { $0 ?? "built-in" },
            startedAt: RunResult.iso8601(Date()),
            slos: slos.map(\.expression.text)
        )
    }

    /// Target labels as the runs named them (the built-in server's port differs per point: one label).
    private func labels(_ result: SweepResult) -> [String] {
        var seen: [String] = []
        for point in result.points where !seen.contains(point.target) { seen.append(point.target) }
        return seen.isEmpty ? result.targets : seen
    }

    /// A point's run; a target lost during it still gives the point (what it measured) beside the error.
    private func runPoint(
        _ parameter: SweepParameter,
        _ value: Double,
        target: String?
    ) async throws(SweepError)
        -> (SweepPoint, SweepError?)
    {
        var pointWorkload = try parameter.apply(value, to: workload)
        pointWorkload.target = target
        let run = StormRun(
            workload: pointWorkload,
            runId: "\(sweepId)-\(sweepSequence())",
            logger: logger,
            security: security
        )
        current.withLockedValue { $0 = run }
        defer { current.withLockedValue { $0 = nil } }
        let outcome: StormRun.Outcome
        do {
            outcome = try await run.run()
        } catch let error as RunError {
            throw SweepError(
                error.kind,
                "\(parameter.rawValue)=\(SweepParameter.format(value)) on \(target ?? "the built-in server"): \(error.message)"
            )
        } catch {
            throw SweepError(.internal, "\(parameter.rawValue)=\(SweepParameter.format(value)): \(error)")
        }
        // The built-in server's label carries a fresh port per point; one curve per target either way.
        let point = SweepPoint(target: target ?? "built-in", value: value, result: outcome.result, slos: slos)
        if let lostAt = outcome.targetLostAt {
            var message = String(
                format: "%@=%@: target %@ lost %.1f s into the point's measurement",
                parameter.rawValue,
                SweepParameter.format(value),
                target ?? "built-in",
                lostAt
            )
            if outcome.rootLeftBehind != nil {
                message +=
                    "; \(outcome.root) was left behind: run `zkstorm clean --target \(target ?? "HOSTS")` once it is back"
            }
            return (point, SweepError(.unavailable, message))
        }
        if let left = outcome.rootLeftBehind, let target {
            let message =
                "\(parameter.rawValue)=\(SweepParameter.format(value)): \(outcome.root) could not be removed (\(left)): run `zkstorm clean --target \(target)`"
            return (point, SweepError(.unavailable, message))
        }
        return (point, nil)
    }

    private let sequence = NIOLockedValueBox<Int>(0)
    private func sweepSequence() -> Int {
        sequence.withLockedValue {
            $0 += 1
            return $0
        }
    }
}
