import Foundation

/// The workload figure a sweep varies from point to point (`zkstorm sweep --vary PARAM=VALUES`).
public enum SweepParameter: String, Sendable, CaseIterable, Codable {
    /// Share of reads (get, exists, children) in every operation group, 0–100; the rest are writes.
    case readPercent = "read-pct"
    /// Total open-loop rate in operations per second (closed groups become open loops, as `--rate`).
    case rate
    /// Sessions running the groups (for a pure watch storm: the watchers), as `--sessions`.
    case sessions
    /// Watcher sessions of the storm.
    case watchers
    /// Bytes per znode value.
    case valueSize = "value-size"
    /// Requests in flight per session: the closed loop's window, the open loop's in-flight cap.
    case window
    /// Znodes in the key space.
    case keys

    /// How the values read in tables and on chart axes.
    public var label: String {
        switch self {
        case .readPercent: "read %"
        case .rate: "offered rate (ops/s)"
        case .sessions: "sessions"
        case .watchers: "watchers"
        case .valueSize: "value size (bytes)"
        case .window: "in-flight window"
        case .keys: "keys"
        }
    }

    public static var names: [String] { allCases.map(\.rawValue) }

    /// The workload with this parameter set to `value`, validated as a run would validate it.
    public func apply(_ value: Double, to workload: Workload) throws(SweepError) -> Workload {
        var result = workload
        func whole(_ minimum: Int) throws(SweepError) -> Int {
            guard value == value.rounded(), value >= Double(minimum), value <= 10_000_000 else {
                throw SweepError(
                    .usage,
                    "\(rawValue)=\(Self.format(value)): expected a whole number of at least \(minimum)"
                )
            }
            return Int(value)
        }
        switch self {
        case .readPercent:
            guard value >= 0, value <= 100 else {
                throw SweepError(.usage, "read-pct=\(Self.format(value)): expected a percentage from 0 to 100")
            }
            guard !result.groups.isEmpty else {
                throw SweepError(.usage, "read-pct varies the operation groups' mix, and this workload has none")
            }
            for index in result.groups.indices {
                result.groups[index].operations = Self.mix(result.groups[index].operations, readPercent: value)
            }
        case .rate:
            do {
                result = try result.applying(WorkloadOverrides(rate: value))
            } catch {
                throw SweepError(.usage, "rate=\(Self.format(value)): \(error.message)")
            }
        case .sessions:
            let sessions = try whole(1)
            do {
                result = try result.applying(WorkloadOverrides(sessions: sessions))
            } catch {
                throw SweepError(.usage, "sessions=\(sessions): \(error.message)")
            }
        case .watchers:
            let watchers = try whole(1)
            guard var watches = result.watches else {
                throw SweepError(.usage, "watchers varies the watch storm, and this workload has no `watches:`")
            }
            watches.watchers = watchers
            result.watches = watches
        case .valueSize:
            result.keyspace.valueSize = try whole(0)
            if let problem = result.valueSizeProblem { throw SweepError(.usage, "value-size: \(problem)") }
        case .window:
            let window = try whole(1)
            guard !result.groups.isEmpty else {
                throw SweepError(
                    .usage,
                    "window varies the operation groups' requests in flight, and this workload has none"
                )
            }
            for index in result.groups.indices {
                switch result.groups[index].load {
                case .closed(let concurrency, _):
                    result.groups[index].load = .closed(concurrency: concurrency, window: window)
                case .open(let rate, let arrivals, _):
                    result.groups[index].load = .open(rate: rate, arrivals: arrivals, maxInFlight: window)
                }
            }
        case .keys:
            result.keyspace.count = try whole(1)
        }
        do {
            _ = try result.sessionPlan()
        } catch {
            throw SweepError(.usage, "\(rawValue)=\(Self.format(value)): \(error.message)")
        }
        return result
    }

    static let readKinds: Set<OperationKind> = [.get, .exists, .children]
    static let writeKinds: Set<OperationKind> = [.set, .create, .delete, .multi]

    /// Reweights a group's operations so reads carry `readPercent` of the weight (in thousandths), each
    /// read and write keeping its share of its side; a side the group lacks is added as `get` or `set`.
    /// Operations that are neither (sync, session churn) keep their weight beside the mix.
    static func mix(_ operations: [OperationSpec], readPercent: Double) -> [OperationSpec] {
        let scale = 1000.0
        let readWeight = Int((readPercent / 100 * scale).rounded())
        let writeWeight = Int(scale) - readWeight
        var reads = operations.filter { readKinds.contains($0.kind) }
        var writes = operations.filter { writeKinds.contains($0.kind) }
        let others = operations.filter { !readKinds.contains($0.kind) && !writeKinds.contains($0.kind) }
        if reads.isEmpty && readWeight > 0 { reads = [OperationSpec(kind: .get)] }
        if writes.isEmpty && writeWeight > 0 { writes = [OperationSpec(kind: .set)] }
        func share(_ specs: [OperationSpec], total: Int) -> [OperationSpec] {
            guard total > 0 else { return [] }
            let sum = max(1, specs.map(\.weight).reduce(0, +))
            var out: [OperationSpec] = []
            var given = 0
            for (index, spec) in specs.enumerated() {
                var copy = spec
                copy.weight =
                    index == specs.count - 1
                    ? total - given : Int((Double(total * spec.weight) / Double(sum)).rounded())
                given += copy.weight
                if copy.weight > 0 { out.append(copy) }
            }
            return out
        }
        return share(reads, total: readWeight) + share(writes, total: writeWeight) + others
    }

    package static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%g", value)
    }
}

/// Why a sweep cannot run, with the sysexits code the CLI exits with.
public struct SweepError: Error, Sendable, CustomStringConvertible {
    public var kind: RunError.Kind
    public var message: String

    public init(_ kind: RunError.Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
    public var exitCode: Int32 { RunError(kind, message).exitCode }
}
