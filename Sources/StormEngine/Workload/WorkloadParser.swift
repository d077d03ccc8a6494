import Foundation
import Yams
import ZooKeeperClient
import ZooKeeperProtocol

/// Turns a YAML workload file into a `Workload`, refusing anything the engine cannot run with an error
/// that names file:line:column, the field and what is allowed. workloads/README.md is the reference.
public enum WorkloadParser {
    static let topFields = [
        "name", "description", "target", "sessions", "duration", "warmup", "seed", "root", "keyspace", "groups",
        "watches", "thresholds", "requests", "stages", "reconnect", "faults", "herd", "session_timeout",
    ]
    static let keyspaceFields = ["count", "value_size", "distribution"]
    static let targetFields = ["hosts", "tls", "sasl", "digest"]
    static let targetTLSFields = ["ca", "cert", "key", "server_name", "insecure"]
    /// No `password` field: passwords live in files or the environment, never in a workload.
    static let targetCredentialFields = ["user", "password_file"]
    static let distributionFields = ["type", "theta", "hot_fraction", "hot_probability"]
    static let groupFields = ["name", "sessions", "ops", "load"]
    static let opFields = ["weight", "under", "mode", "watch", "target", "size"]
    static let closedFields = ["model", "concurrency", "window"]
    static let openFields = ["model", "rate", "arrivals", "max_in_flight"]
    static let watchFields = ["kind", "watchers", "znodes", "storm", "stall"]
    static let stormFields = ["rounds", "interval", "writer", "timeout", "rearm"]
    static let reconnectFields = ["policy", "base", "max"]

    /// Reads and parses a file; `name` defaults to the file name without `.yaml`.
    public static func load(path: String) throws(WorkloadError) -> Workload {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw WorkloadError(
                file: path,
                line: 0,
                column: 0,
                field: "",
                message: "cannot read the workload file: \(error.localizedDescription)"
            )
        }
        let base = (path as NSString).lastPathComponent
        let name =
            base.hasSuffix(".yaml")
            ? String(base.dropLast(5)) : (base.hasSuffix(".yml") ? String(base.dropLast(4)) : base)
        return try parse(text, file: path, defaultName: name)
    }

    public static func parse(
        _ text: String,
        file: String,
        defaultName: String = "workload"
    ) throws(WorkloadError) -> Workload {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw WorkloadError(
                    file: file,
                    line: 1,
                    column: 1,
                    field: "",
                    message: "the file is empty; a workload needs at least `groups` or `watches`"
                )
            }
            root = node
        } catch let error as WorkloadError {
            throw error
        } catch let error as YamlError {
            throw yamlSyntaxError(error, file: file)
        } catch {
            throw WorkloadError(file: file, line: 1, column: 1, field: "", message: "not valid YAML: \(error)")
        }
        return try parseDocument(root, file: file, defaultName: defaultName)
    }

    static func yamlSyntaxError(_ error: YamlError, file: String) -> WorkloadError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { "\($0.text) " } ?? ""
            return WorkloadError(
                file: file,
                line: mark.line,
                column: mark.column,
                field: "",
                message: "not valid YAML: \(detail)\(problem)"
            )
        case .duplicatedKeysInMapping(let duplicates, let context):
            return WorkloadError(
                file: file,
                line: context.mark.line,
                column: context.mark.column,
                field: duplicates.sorted().joined(separator: ", "),
                message: "given twice in the mapping that starts here; each field may appear once"
            )
        default:
            return WorkloadError(file: file, line: 1, column: 1, field: "", message: "not valid YAML: \(error)")
        }
    }

    static func parseDocument(_ node: Node, file: String, defaultName: String) throws(WorkloadError) -> Workload {
        let top = try YAMLFieldReader(file: file, field: "", node: node, allowed: topFields)
        var workload = Workload(name: try top.string("name") ?? defaultName)
        workload.description = try top.string("description") ?? ""
        if let targetNode = top.value("target"), case .mapping = targetNode {
            (workload.target, workload.security) = try parseTarget(
                YAMLFieldReader(file: file, field: "target", node: targetNode, allowed: targetFields)
            )
        } else if let target = try top.string("target") {
            guard !target.isEmpty else {
                throw top.error("target", "expected a connect string such as \"zk1:2181,zk2:2181/chroot\"")
            }
            do throws(ConnectStringError) {
                _ = try ConnectString(parsing: target)
            } catch {
                throw top.error("target", error.description)
            }
            workload.target = target
        }
        workload.sessions = try top.int("sessions", default: Workload.Defaults.sessions, range: 0...100_000)
        workload.duration = try top.duration(
            "duration",
            default: Workload.Defaults.duration,
            minimum: .milliseconds(100)
        )
        workload.warmup = try top.duration("warmup", default: Workload.Defaults.warmup)
        workload.sessionTimeout = try top.duration(
            "session_timeout",
            default: workload.sessionTimeout,
            minimum: .seconds(1)
        )
        if let seed = try top.string("seed") {
            guard let value = UInt64(seed) else {
                throw top.error("seed", "expected a whole number 0...\(UInt64.max), found \"\(seed)\"")
            }
            workload.seed = value
        }
        if let rootPath = try top.string("root") {
            do throws(WorkloadRootError) {
                try WorkloadRoot.validate(rootPath, explicit: false)
            } catch {
                throw top.error("root", error.message)
            }
            workload.root = rootPath
        }
        if let keyspace = top.value("keyspace") {
            workload.keyspace = try parseKeySpace(
                YAMLFieldReader(file: file, field: "keyspace", node: keyspace, allowed: keyspaceFields)
            )
        }
        if let groups = top.value("groups") {
            workload.groups = try parseGroups(groups, file: file)
        }
        if let watches = top.value("watches") {
            workload.watches = try parseWatches(
                YAMLFieldReader(file: file, field: "watches", node: watches, allowed: watchFields)
            )
        }
        if top.has("requests") {
            workload.requests = try top.int("requests", default: 1, range: 1...Int(Int32.max))
        }
        if let reconnect = top.value("reconnect") {
            workload.reconnect = try parseReconnect(
                YAMLFieldReader(file: file, field: "reconnect", node: reconnect, allowed: reconnectFields)
            )
        }
        if let herd = top.value("herd") {
            workload.herd = try parseHerd(
                YAMLFieldReader(file: file, field: "herd", node: herd, allowed: herdFields),
                reconnect: workload.reconnect
            )
        }
        if let thresholds = top.value("thresholds") {
            workload.thresholds = try parseThresholds(thresholds, file: file)
        }
        if let stages = top.value("stages") {
            workload.stages = try parseStages(stages, file: file)
            if top.has("duration") {
                throw top.error("duration", "give either `duration` or `stages` (their durations add up to the run's)")
            }
            workload.duration = StagePlan(workload.stages).totalDuration
            try checkWatcherStages(workload, stages: stages, file: file)
            try checkStallStages(workload, top: top)
        }
        if let faults = top.value("faults") {
            workload.faults = try parseFaults(faults, file: file, duration: workload.duration)
        }
        if workload.groups.isEmpty && workload.watches == nil && workload.herd == nil {
            throw YAMLFieldReader.error(
                file: file,
                node: node,
                field: "",
                "nothing to run: give `groups` (operations), `watches` (a watch storm), `herd` (tree caches) or several"
            )
        }
        try checkSessions(workload, top: top)
        return workload
    }

    static func parseKeySpace(_ reader: YAMLFieldReader) throws(WorkloadError) -> KeySpace {
        var keyspace = KeySpace()
        keyspace.count = try reader.int("count", default: keyspace.count, range: 1...10_000_000)
        keyspace.valueSize = try reader.bytes(
            "value_size",
            default: keyspace.valueSize,
            maximum: Workload.maximumValueSize
        )
        if let node = reader.value("distribution") {
            keyspace.distribution = try parseDistribution(node, file: reader.file, field: reader.path("distribution"))
        }
        return keyspace
    }

    static let distributionNames = ["uniform", "zipfian", "sequential", "hotspot"]

    static func parseDistribution(
        _ node: Node,
        file: String,
        field: String
    ) throws(WorkloadError) -> KeyDistributionSpec {
        let reader: YAMLFieldReader?
        let type: String
        let typeNode: Node?
        if let scalar = node.scalar {
            reader = nil
            type = scalar.string
            typeNode = node
        } else {
            let r = try YAMLFieldReader(file: file, field: field, node: node, allowed: distributionFields)
            guard let t = try r.string("type") else {
                throw YAMLFieldReader.error(
                    file: file,
                    node: node,
                    field: field + ".type",
                    "missing; allowed: \(distributionNames.joined(separator: ", "))"
                )
            }
            reader = r
            type = t
            typeNode = r.value("type")
        }
        func refuseExtras(_ allowed: [String]) throws(WorkloadError) {
            guard let reader else { return }
            for key in reader.orderedKeys where key != "type" && !allowed.contains(key) {
                throw reader.error(
                    atKey: key,
                    "only for another distribution; \(type) takes \(allowed.isEmpty ? "no parameters" : allowed.joined(separator: ", "))"
                )
            }
        }
        switch type {
        case "uniform":
            try refuseExtras([])
            return .uniform
        case "sequential":
            try refuseExtras([])
            return .sequential
        case "zipfian":
            try refuseExtras(["theta"])
            let theta = try reader?.double("theta", default: 0.99, range: 0...0.999_999, exclusiveLower: true) ?? 0.99
            return .zipfian(theta: theta)
        case "hotspot":
            try refuseExtras(["hot_fraction", "hot_probability"])
            let fraction = try reader?.double("hot_fraction", default: 0.2, range: 0...1, exclusiveLower: true) ?? 0.2
            let probability = try reader?.double("hot_probability", default: 0.8, range: 0...1) ?? 0.8
            return .hotspot(hotFraction: fraction, hotProbability: probability)
        default:
            throw YAMLFieldReader.error(
                file: file,
                node: typeNode,
                field: reader == nil ? field : field + ".type",
                "unknown distribution \"\(type)\"\(Spelling.suggestion(for: type, in: distributionNames)); allowed: \(distributionNames.joined(separator: ", "))"
            )
        }
    }

    static func parseGroups(_ node: Node, file: String) throws(WorkloadError) -> [OperationGroup] {
        guard case .sequence(let sequence) = node else {
            throw YAMLFieldReader.error(
                file: file,
                node: node,
                field: "groups",
                "expected a list of operation groups (lines starting with `- `), found \(YAMLFieldReader.describe(node))"
            )
        }
        var groups: [OperationGroup] = []
        for (index, item) in sequence.enumerated() {
            let reader = try YAMLFieldReader(file: file, field: "groups[\(index)]", node: item, allowed: groupFields)
            let name = try reader.string("name") ?? "group\(index + 1)"
            if groups.contains(where: { $0.name == name }) {
                throw reader.error("name", "\"\(name)\" is used by an earlier group; group names must differ")
            }
            let sessions: Int? =
                reader.has("sessions") ? try reader.int("sessions", default: 1, range: 1...100_000) : nil
            guard let opsNode = reader.value("ops") else {
                throw YAMLFieldReader.error(
                    file: file,
                    node: item,
                    field: reader.path("ops"),
                    "missing; give weighted operations, e.g. `ops: {get: 90, set: 10}`"
                )
            }
            let operations = try parseOperations(opsNode, file: file, field: reader.path("ops"))
            var load = LoadModel.closed(concurrency: 1, window: 1)
            if let loadNode = reader.value("load") {
                load = try parseLoad(loadNode, file: file, field: reader.path("load"))
            }
            groups.append(OperationGroup(name: name, sessions: sessions, operations: operations, load: load))
        }
        guard !groups.isEmpty else {
            throw YAMLFieldReader.error(
                file: file,
                node: node,
                field: "groups",
                "the list is empty; give at least one group or leave `groups` out"
            )
        }
        return groups
    }

    static func parseOperations(_ node: Node, file: String, field: String) throws(WorkloadError) -> [OperationSpec] {
        let kinds = OperationKind.allCases.map(\.rawValue)
        let ops = try YAMLFieldReader(file: file, field: field, node: node, allowed: kinds)
        var result: [OperationSpec] = []
        for key in ops.orderedKeys {
            let kind = OperationKind(rawValue: key)!
            var spec = OperationSpec(kind: kind)
            let value = ops.value(key)!
            if value.scalar != nil {
                spec.weight = try ops.int(key, default: 1, range: 0...1_000_000)
            } else {
                let r = try YAMLFieldReader(file: file, field: ops.path(key), node: value, allowed: opFields)
                spec.weight = try r.int("weight", default: 1, range: 0...1_000_000)
                if let under = try r.string("under") {
                    guard !under.isEmpty, !under.hasPrefix("/"), !under.hasSuffix("/"), !under.contains("//") else {
                        throw r.error(
                            "under",
                            "expected a relative directory below the run root such as \"tasks\" or \"locks/a\""
                        )
                    }
                    spec.under = under
                }
                spec.mode = try r.choice("mode", default: .persistent)
                spec.watch = try r.bool("watch", default: false)
                spec.target = try r.choice("target", default: .key)
                spec.size = try r.int("size", default: 2, range: 1...1000)
                try refuse(r, fields: fieldsNotFor(kind), kind: kind)
            }
            result.append(spec)
        }
        guard result.contains(where: { $0.weight > 0 }) else {
            throw YAMLFieldReader.error(
                file: file,
                node: node,
                field: field,
                "every weight is 0 (or no operation is given); give at least one positive weight"
            )
        }
        return result
    }

    static func fieldsNotFor(_ kind: OperationKind) -> [String] {
        let usable: [String] =
            switch kind {
            case .get, .exists, .children: ["weight", "under", "watch"]
            case .set, .sync: ["weight", "under"]
            case .create: ["weight", "under", "mode"]
            case .delete: ["weight", "under", "target"]
            case .multi: ["weight", "under", "size"]
            case .session: ["weight"]
            }
        return opFields.filter { !usable.contains($0) }
    }

    static func refuse(_ reader: YAMLFieldReader, fields: [String], kind: OperationKind) throws(WorkloadError) {
        for key in reader.orderedKeys where fields.contains(key) {
            let usable = opFields.filter { !fields.contains($0) }
            throw reader.error(
                atKey: key,
                "does not apply to \(kind.rawValue); \(kind.rawValue) takes \(usable.joined(separator: ", "))"
            )
        }
    }

    static func parseLoad(_ node: Node, file: String, field: String) throws(WorkloadError) -> LoadModel {
        // Read `model` first so that unknown fields are judged against the chosen model's fields.
        let probe = try YAMLFieldReader(file: file, field: field, node: node, allowed: nil)
        let model = try probe.string("model") ?? "closed"
        switch model {
        case "closed":
            let reader = try YAMLFieldReader(file: file, field: field, node: node, allowed: closedFields)
            return .closed(
                concurrency: try reader.int("concurrency", default: 1, range: 1...10_000),
                window: try reader.int("window", default: 1, range: 1...10_000)
            )
        case "open":
            let reader = try YAMLFieldReader(file: file, field: field, node: node, allowed: openFields)
            guard reader.has("rate") else {
                throw YAMLFieldReader.error(
                    file: file,
                    node: node,
                    field: reader.path("rate"),
                    "missing; an open loop needs a target rate in operations per second, e.g. `rate: 5000`"
                )
            }
            return .open(
                rate: try reader.double("rate", default: 0, range: 0...100_000_000, exclusiveLower: true),
                arrivals: try reader.choice("arrivals", default: .poisson),
                maxInFlight: try reader.int("max_in_flight", default: LoadModel.defaultMaxInFlight, range: 1...100_000)
            )
        default:
            throw probe.error(
                "model",
                "unknown load model \"\(model)\"\(Spelling.suggestion(for: model, in: ["closed", "open"])); allowed: closed, open"
            )
        }
    }

    static func parseWatches(_ reader: YAMLFieldReader) throws(WorkloadError) -> WatchSpec {
        var spec = WatchSpec()
        spec.kind = try reader.choice("kind", default: .data)
        spec.watchers = try reader.int("watchers", default: spec.watchers, range: 1...100_000)
        spec.znodes = try reader.int("znodes", default: spec.znodes, range: 1...10_000)
        if let stormNode = reader.value("storm") {
            let storm = try YAMLFieldReader(
                file: reader.file,
                field: reader.path("storm"),
                node: stormNode,
                allowed: stormFields
            )
            spec.storm.rounds = try storm.int("rounds", default: spec.storm.rounds, range: 1...1_000_000)
            spec.storm.interval = try storm.duration(
                "interval",
                default: spec.storm.interval,
                minimum: .milliseconds(1)
            )
            spec.storm.writer = try storm.choice("writer", default: .dedicated)
            spec.storm.timeout = try storm.duration("timeout", default: spec.storm.timeout, minimum: .milliseconds(10))
            spec.storm.rearm = try storm.choice("rearm", default: .immediate)
        }
        if let stallNode = reader.value("stall") {
            let stall = try YAMLFieldReader(
                file: reader.file,
                field: reader.path("stall"),
                node: stallNode,
                allowed: stallFields
            )
            spec.stall = try parseStall(stall, watches: spec)
        }
        return spec
    }

    static let stageFields = ["duration", "rate", "sessions", "watchers"]

    /// `stages: [{duration: 30s, rate: 1000}, {duration: 1m, sessions: 16}, {duration: 20s, watchers: 500}]`
    static func parseStages(_ node: Node, file: String) throws(WorkloadError) -> [Stage] {
        guard case .sequence(let sequence) = node, !sequence.isEmpty else {
            throw YAMLFieldReader.error(
                file: file,
                node: node,
                field: "stages",
                "expected a list such as [{duration: 30s, rate: 1000}, {duration: 1m, rate: 5000}]"
            )
        }
        var stages: [Stage] = []
        for (index, item) in sequence.enumerated() {
            let reader = try YAMLFieldReader(file: file, field: "stages[\(index)]", node: item, allowed: stageFields)
            guard reader.has("duration") else {
                throw YAMLFieldReader.error(
                    file: file,
                    node: item,
                    field: "stages[\(index)].duration",
                    "missing; e.g. duration: 30s"
                )
            }
            var stage = Stage(
                duration: try reader.duration("duration", default: .seconds(1), minimum: .milliseconds(100))
            )
            if reader.has("rate") { stage.rate = try reader.double("rate", default: 0, range: 0...100_000_000) }
            if reader.has("sessions") { stage.sessions = try reader.int("sessions", default: 0, range: 0...100_000) }
            if reader.has("watchers") {
                stage.watchers = try reader.int("watchers", default: 1, range: 1...100_000)
            }
            stages.append(stage)
        }
        return stages
    }

    /// A stage's `watchers` needs a watch storm and may not ask for more watchers than it connects.
    static func checkWatcherStages(_ workload: Workload, stages node: Node, file: String) throws(WorkloadError) {
        guard case .sequence(let items) = node else { return }
        for (index, (stage, item)) in zip(workload.stages, items).enumerated() {
            guard let watchers = stage.watchers else { continue }
            guard let spec = workload.watches else {
                throw YAMLFieldReader.error(
                    file: file,
                    node: item,
                    field: "stages[\(index)].watchers",
                    "there is no watch storm to ramp: add a `watches:` section (its `watchers` is the most a stage may ask)"
                )
            }
            if watchers > spec.watchers {
                throw YAMLFieldReader.error(
                    file: file,
                    node: item,
                    field: "stages[\(index)].watchers",
                    "\(watchers) is more than the \(spec.watchers) watchers the storm connects: raise `watches.watchers` to \(watchers) or lower this stage"
                )
            }
        }
    }

    static let thresholdFields = ["threshold", "abort_on_fail"]

    /// `thresholds: ["get.p99<5ms", {threshold: "errors<0.1%", abort_on_fail: true}]`
    static func parseThresholds(_ node: Node, file: String) throws(WorkloadError) -> [Threshold] {
        guard case .sequence(let sequence) = node else {
            throw YAMLFieldReader.error(
                file: file,
                node: node,
                field: "thresholds",
                "expected a list such as [\"get.p99<5ms\", \"errors<0.1%\"], found \(YAMLFieldReader.describe(node))"
            )
        }
        var thresholds: [Threshold] = []
        for (index, item) in sequence.enumerated() {
            let field = "thresholds[\(index)]"
            let text: String
            var abortOnFail = false
            var textNode: Node = item
            if let scalar = item.scalar {
                text = scalar.string
            } else {
                let reader = try YAMLFieldReader(file: file, field: field, node: item, allowed: thresholdFields)
                guard let value = try reader.string("threshold") else {
                    throw YAMLFieldReader.error(
                        file: file,
                        node: item,
                        field: field + ".threshold",
                        "missing; e.g. threshold: get.p99<5ms"
                    )
                }
                text = value
                textNode = reader.value("threshold") ?? item
                abortOnFail = try reader.bool("abort_on_fail", default: false)
            }
            do throws(ThresholdSyntaxError) {
                thresholds.append(try Threshold(parsing: text, abortOnFail: abortOnFail))
            } catch {
                throw YAMLFieldReader.error(file: file, node: textNode, field: field, error.message)
            }
        }
        return thresholds
    }

    /// Group session counts must fit in `sessions`, and open-loop rates must be issuable by them.
    static func checkSessions(_ workload: Workload, top: YAMLFieldReader) throws(WorkloadError) {
        if let problem = workload.valueSizeProblem, let node = top.value("keyspace"),
            let keyspace = try? YAMLFieldReader(file: top.file, field: "keyspace", node: node, allowed: keyspaceFields),
            keyspace.has("value_size")
        {
            throw keyspace.error("value_size", problem)
        }
        do throws(WorkloadPlanError) {
            _ = try workload.sessionPlan()
        } catch {
            let key = top.has("sessions") ? "sessions" : (top.has("groups") ? "groups" : "sessions")
            throw top.error(key, error.message)
        }
    }
}
