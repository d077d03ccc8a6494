import Foundation
import ZooKeeperClient

/// A workload written back as the YAML `WorkloadParser` reads: what `zkstorm run --dry-run` prints, what
/// `presets show` prints and what a result file carries as `effective_workload`. Parsing the output
/// gives the same workload (every field written explicitly, defaults included).
public enum WorkloadYAML {
    public static func render(_ workload: Workload) -> String {
        var out = ""
        out += "name: \(scalar(workload.name))\n"
        if !workload.description.isEmpty { out += "description: \(scalar(workload.description))\n" }
        if let target = workload.target { out += "target: \(scalar(target))\n" }
        out += "sessions: \(workload.sessions)\n"
        if workload.stages.isEmpty {
            out += "duration: \(DurationText.format(workload.duration))\n"
        } else {
            out += "stages:\n"
            for stage in workload.stages {
                var fields = ["duration: \(DurationText.format(stage.duration))"]
                if let rate = stage.rate { fields.append("rate: \(number(rate))") }
                if let sessions = stage.sessions { fields.append("sessions: \(sessions)") }
                if let watchers = stage.watchers { fields.append("watchers: \(watchers)") }
                out += "  - {" + fields.joined(separator: ", ") + "}\n"
            }
        }
        out += "warmup: \(DurationText.format(workload.warmup))\n"
        if let requests = workload.requests { out += "requests: \(requests)\n" }
        out += "seed: \(workload.seed)\n"
        if let root = workload.root { out += "root: \(scalar(root))\n" }
        if workload.sessionTimeout == Workload.Defaults.sessionTimeout {
            out += "# session timeout (--session-timeout): \(DurationText.format(workload.sessionTimeout))\n"
        } else {
            out += "session_timeout: \(DurationText.format(workload.sessionTimeout))\n"
        }
        let keyspace = workload.keyspace
        out += "keyspace:\n"
        out += "  count: \(keyspace.count)\n"
        out += "  value_size: \(keyspace.valueSize)\n"
        out += "  distribution: \(distribution(keyspace.distribution))\n"
        if !workload.groups.isEmpty {
            out += "groups:\n"
            for group in workload.groups {
                out += "  - name: \(scalar(group.name))\n"
                if let sessions = group.sessions { out += "    sessions: \(sessions)\n" }
                out += "    ops:\n"
                for op in group.operations { out += "      \(op.kind.rawValue): \(operation(op))\n" }
                out += "    load: \(load(group.load))\n"
            }
        }
        if let watches = workload.watches {
            out += "watches:\n"
            out += "  kind: \(watches.kind.rawValue)\n"
            out += "  watchers: \(watches.watchers)\n"
            out += "  znodes: \(watches.znodes)\n"
            let storm = watches.storm
            out +=
                "  storm: {rounds: \(storm.rounds), interval: \(DurationText.format(storm.interval)), writer: \(storm.writer.rawValue), timeout: \(DurationText.format(storm.timeout))}\n"
            if let stall = watches.stall { out += stall.yaml }
        }
        switch workload.reconnect {
        case .immediate: break
        case .exponentialBackoff(let base, let cap):
            out +=
                "reconnect: {policy: backoff, base: \(DurationText.format(base)), max: \(DurationText.format(cap))}\n"
        case .exponentialBackoffWithJitter(let base, let cap):
            out += "reconnect: {policy: jitter, base: \(DurationText.format(base)), max: \(DurationText.format(cap))}\n"
        }
        if let herd = workload.herd {
            let names = herd.policies.map { policy in
                switch policy {
                case .immediate: "immediate"
                case .exponentialBackoff: "backoff"
                case .exponentialBackoffWithJitter: "jitter"
                }
            }
            out +=
                "herd: {sessions: \(herd.sessions), znodes: \(herd.znodes), rate: \(number(herd.rate)), policies: [\(names.joined(separator: ", "))]}\n"
        }
        if !workload.faults.isEmpty {
            out += "faults:\n"
            for fault in workload.faults {
                var fields = ["at: \(DurationText.format(fault.at))", "action: \(fault.action.rawValue)"]
                if let member = fault.member { fields.append("node: \(member)") }
                if let duration = fault.duration { fields.append("for: \(DurationText.format(duration))") }
                out += "  - {" + fields.joined(separator: ", ") + "}\n"
            }
        }
        if !workload.thresholds.isEmpty {
            out += "thresholds:\n"
            for threshold in workload.thresholds {
                let text = scalar(threshold.expression.text)
                out += threshold.abortOnFail ? "  - {threshold: \(text), abort_on_fail: true}\n" : "  - \(text)\n"
            }
        }
        return out
    }

    /// The reconnect policy as the report and the result name it: "immediate", "backoff base 50ms max
    /// 2s", "jitter base 50ms max 2s" (the workload file's policy names).
    static func reconnectText(_ policy: ReconnectPolicy) -> String {
        switch policy {
        case .immediate: "immediate"
        case .exponentialBackoff(let base, let cap):
            "backoff base \(DurationText.format(base)) max \(DurationText.format(cap))"
        case .exponentialBackoffWithJitter(let base, let cap):
            "jitter base \(DurationText.format(base)) max \(DurationText.format(cap))"
        }
    }

    static func distribution(_ spec: KeyDistributionSpec) -> String {
        switch spec {
        case .uniform: "uniform"
        case .sequential: "sequential"
        case .zipfian(let theta): "{type: zipfian, theta: \(theta)}"
        case .hotspot(let fraction, let probability):
            "{type: hotspot, hot_fraction: \(fraction), hot_probability: \(probability)}"
        }
    }

    static func operation(_ op: OperationSpec) -> String {
        var fields = ["weight: \(op.weight)"]
        if let under = op.under { fields.append("under: \(scalar(under))") }
        switch op.kind {
        case .get, .exists, .children: fields.append("watch: \(op.watch)")
        case .create: fields.append("mode: \(op.mode.rawValue)")
        case .delete: fields.append("target: \(op.target.rawValue)")
        case .multi: fields.append("size: \(op.size)")
        case .set, .sync, .session: break
        }
        return "{" + fields.joined(separator: ", ") + "}"
    }

    static func load(_ model: LoadModel) -> String {
        switch model {
        case .closed(let concurrency, let window):
            "{model: closed, concurrency: \(concurrency), window: \(window)}"
        case .open(let rate, let arrivals, let maxInFlight):
            "{model: open, rate: \(number(rate)), arrivals: \(arrivals.rawValue), max_in_flight: \(maxInFlight)}"
        }
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }

    /// A YAML scalar: plain when it cannot be misread, otherwise double-quoted.
    static func scalar(_ text: String) -> String {
        let plain = text.allSatisfy { $0.isLetter || $0.isNumber || "-_./".contains($0) }
        let ambiguous = ["true", "false", "yes", "no", "null", "on", "off", "~"].contains(text.lowercased())
        if plain && !text.isEmpty && !ambiguous && Double(text) == nil { return text }
        var escaped = ""
        for character in text {
            switch character {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return "\"\(escaped)\""
    }
}
