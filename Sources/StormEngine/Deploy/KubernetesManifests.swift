import Foundation
import StormMetrics
import ZooKeeperClient

/// The Kubernetes objects that run one workload as N shards (`zkstorm k8s`): a ConfigMap holding the
/// workload, the target and the Pushgateway; a ReadWriteMany claim the shards write their result JSON
/// to; an Indexed Job whose pod I runs `zkstorm run` as shard I of N; and, once the shards are done, a
/// Job that merges their results with `zkstorm report --merge`. deploy/kubernetes/ holds an example.
package struct KubernetesManifests: Sendable {
    /// What `zkstorm k8s` was given.
    package struct Options: Sendable {
        package var shards: Int
        /// The workload file's text, embedded in the ConfigMap as it is.
        package var workloadText: String
        /// Where the text came from, for messages.
        package var workloadFile: String
        /// ZooKeeper connect string of the ensemble, as the pods reach it.
        package var target: String
        package var pushgateway: String?
        package var image: String
        package var runId: String
        package var namespace: String?

        package init(
            shards: Int,
            workloadText: String,
            workloadFile: String,
            target: String,
            pushgateway: String? = nil,
            image: String = KubernetesManifests.defaultImage,
            runId: String,
            namespace: String? = nil
        ) {
            self.shards = shards
            self.workloadText = workloadText
            self.workloadFile = workloadFile
            self.target = target
            self.pushgateway = pushgateway
            self.image = image
            self.runId = runId
            self.namespace = namespace
        }
    }

    /// A setting the manifests cannot be made from: the message names it; `exitCode` is a sysexits code.
    package struct ManifestError: Error, Sendable, CustomStringConvertible {
        package var message: String
        package var exitCode: Int32
        package var description: String { message }
    }

    /// The image when `--image` is not given: this version of zkstorm, built and pushed by the user.
    package static let defaultImage = "zkstorm:\(PrometheusExposition.zkstormVersion)"
    /// Where the pods mount the ConfigMap and the results claim.
    package static let workloadDirectory = "/etc/zkstorm"
    package static let resultsDirectory = "/results"
    /// Time a Job may take beyond warm-up and measurement: image pull, setup, the shards' barrier, cleanup.
    package static let deadlineSlack: Duration = .seconds(600)

    package let options: Options
    /// The workload as each shard parses it (the target replaced by the options').
    package let workload: Workload
    /// Sessions and open-loop rate of one shard, and the resources requested for them.
    package let footprint: GeneratorFootprint

    /// Checks every option (the workload with `WorkloadParser`, as `zkstorm run` would).
    package init(_ options: Options) throws(ManifestError) {
        guard options.shards >= 1 else {
            throw ManifestError(
                message: "--shards \(options.shards): give a number of shards of at least 1",
                exitCode: 64
            )
        }
        if let problem = Self.nameProblem(options.runId, maximumLength: 40) {
            throw ManifestError(
                message: "--run-id \(options.runId): \(problem) (it names the Job and the run root /zkstorm/<run-id>)",
                exitCode: 64
            )
        }
        if let namespace = options.namespace, let problem = Self.nameProblem(namespace, maximumLength: 63) {
            throw ManifestError(message: "--namespace \(namespace): \(problem)", exitCode: 64)
        }
        if options.image.isEmpty || options.image.contains(where: \.isWhitespace) {
            throw ManifestError(
                message: "--image \"\(options.image)\": give an image reference such as registry.example/zkstorm:0.1.0",
                exitCode: 64
            )
        }
        do {
            _ = try ConnectString(parsing: options.target)
        } catch {
            throw ManifestError(message: "--target \(options.target): \(error)", exitCode: 64)
        }
        if let pushgateway = options.pushgateway {
            do {
                try PushConfiguration(url: pushgateway, instance: "pod", run: options.runId).validate()
            } catch {
                throw ManifestError(
                    message: "--pushgateway \(pushgateway): \(error.message)".replacingOccurrences(
                        of: "e.g. http://127.0.0.1:9091",
                        with: "e.g. http://pushgateway.monitoring:9091"
                    ),
                    exitCode: 64
                )
            }
        }
        let parsed: Workload
        do {
            parsed = try WorkloadParser.parse(options.workloadText, file: options.workloadFile)
        } catch {
            throw ManifestError(message: "\(error)", exitCode: 65)
        }
        let workload: Workload
        let plan: SessionPlan
        do {
            workload = try parsed.applying(WorkloadOverrides(target: options.target))
            plan = try workload.sessionPlan()
        } catch {
            throw ManifestError(message: "\(options.workloadFile): \(error.message)", exitCode: 64)
        }
        if options.shards > plan.total {
            throw ManifestError(
                message:
                    "--shards \(options.shards): the workload has \(plan.total) sessions, fewer than the shards; give at most \(plan.total) shards",
                exitCode: 64
            )
        }
        self.options = options
        self.workload = workload
        self.footprint = GeneratorFootprint(workload: workload, plan: plan, shards: options.shards)
    }

    /// Why `name` cannot name a Kubernetes object (an RFC 1123 label), or nil.
    static func nameProblem(_ name: String, maximumLength: Int) -> String? {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-")
        if name.isEmpty || name.count > maximumLength || !name.allSatisfy(allowed.contains) || name.hasPrefix("-")
            || name.hasSuffix("-")
        {
            return
                "give 1-\(maximumLength) lower-case letters, digits and '-', starting and ending with a letter or digit"
        }
        return nil
    }

    // MARK: - Objects

    package var jobName: String { "zkstorm-\(options.runId)" }
    package var configMapName: String { "zkstorm-\(options.runId)" }
    package var claimName: String { "zkstorm-\(options.runId)-results" }
    package var mergeJobName: String { "zkstorm-\(options.runId)-merge" }

    /// Every shard's result file on the claim, in shard order.
    package var resultFiles: [String] { (0..<options.shards).map { "\(Self.resultsDirectory)/shard-\($0).json" } }

    var labels: ManifestYAML {
        .map([("app.kubernetes.io/name", .string("zkstorm")), ("zkstorm/run", .string(options.runId))])
    }

    func metadata(_ name: String) -> ManifestYAML {
        var pairs: [(String, ManifestYAML)] = [("name", .string(name))]
        if let namespace = options.namespace { pairs.append(("namespace", .string(namespace))) }
        pairs.append(("labels", labels))
        return .map(pairs)
    }

    /// The workload file, the target and the Pushgateway: everything a shard reads besides its index.
    package var configMap: ManifestYAML {
        var data: [(String, ManifestYAML)] = [
            ("workload.yaml", .text(options.workloadText)), ("target", .string(options.target)),
        ]
        if let pushgateway = options.pushgateway { data.append(("pushgateway", .string(pushgateway))) }
        return .map([
            ("apiVersion", .string("v1")), ("kind", .string("ConfigMap")), ("metadata", metadata(configMapName)),
            ("data", .map(data)),
        ])
    }

    /// Shared by every shard pod and the merge pod; ReadWriteMany since the pods may land on any node.
    package var resultsClaim: ManifestYAML {
        .map([
            ("apiVersion", .string("v1")), ("kind", .string("PersistentVolumeClaim")),
            ("metadata", metadata(claimName)),
            (
                "spec",
                .map([
                    ("accessModes", .list([.string("ReadWriteMany")])),
                    ("resources", .map([("requests", .map([("storage", .string("1Gi"))]))])),
                ])
            ),
        ])
    }

    func configMapValue(_ name: String, key: String, optional: Bool = false) -> ManifestYAML {
        var reference: [(String, ManifestYAML)] = [("name", .string(configMapName)), ("key", .string(key))]
        if optional { reference.append(("optional", .bool(true))) }
        return .map([("name", .string(name)), ("valueFrom", .map([("configMapKeyRef", .map(reference))]))])
    }

    func fieldValue(_ name: String, path: String) -> ManifestYAML {
        .map([("name", .string(name)), ("valueFrom", .map([("fieldRef", .map([("fieldPath", .string(path))]))]))])
    }

    /// The Indexed Job: pod I runs shard I of N; Kubernetes sets JOB_COMPLETION_INDEX, the other
    /// variables come from here and the ConfigMap, so one pod template serves every shard.
    package var shardJob: ManifestYAML {
        var env: [ManifestYAML] = [
            .map([("name", .string("ZKSTORM_SHARDS")), ("value", .string(String(options.shards)))]),
            .map([("name", .string("ZKSTORM_RUN_ID")), ("value", .string(options.runId))]),
            fieldValue(
                "JOB_COMPLETION_INDEX",
                path: "metadata.annotations['batch.kubernetes.io/job-completion-index']"
            ),
            fieldValue("POD_NAME", path: "metadata.name"),
            configMapValue("ZKSTORM_TARGET", key: "target"),
        ]
        if options.pushgateway != nil { env.append(configMapValue("ZKSTORM_PUSHGATEWAY", key: "pushgateway")) }
        let arguments = [
            "run", "\(Self.workloadDirectory)/workload.yaml", "--target", "$(ZKSTORM_TARGET)", "--instance",
            "$(POD_NAME)", "--json", "\(Self.resultsDirectory)/shard-$(JOB_COMPLETION_INDEX).json", "--quiet",
        ]
        let container = zkstormContainer(
            "zkstorm",
            arguments: arguments,
            [
                ("env", .list(env)), ("resources", footprint.resources),
                (
                    "volumeMounts",
                    .list([
                        .map([
                            ("name", .string("workload")), ("mountPath", .string(Self.workloadDirectory)),
                            ("readOnly", .bool(true)),
                        ]),
                        resultsMount,
                    ])
                ),
            ]
        )
        let volumes: ManifestYAML = .list([
            .map([
                ("name", .string("workload")),
                (
                    "configMap",
                    .map([
                        ("name", .string(configMapName)),
                        (
                            "items",
                            .list([.map([("key", .string("workload.yaml")), ("path", .string("workload.yaml"))])])
                        ),
                    ])
                ),
            ]),
            resultsVolume,
        ])
        return job(
            jobName,
            [
                ("completionMode", .string("Indexed")), ("completions", .int(options.shards)),
                ("parallelism", .int(options.shards)),
                // A shard restarted mid-run would meet a barrier the others have passed: no retries.
                ("backoffLimit", .int(0)), ("activeDeadlineSeconds", .int(deadlineSeconds)),
            ],
            container: container,
            volumes: volumes
        )
    }

    /// A Job (never retried: `restartPolicy: Never`) with the Job settings `spec` and a pod of one
    /// container.
    func job(
        _ name: String,
        _ spec: [(String, ManifestYAML)],
        container: ManifestYAML,
        volumes: ManifestYAML
    ) -> ManifestYAML {
        let template: ManifestYAML = .map([
            ("metadata", .map([("labels", labels)])),
            (
                "spec",
                .map([
                    ("restartPolicy", .string("Never")), ("containers", .list([container])), ("volumes", volumes),
                ])
            ),
        ])
        return .map([
            ("apiVersion", .string("batch/v1")), ("kind", .string("Job")), ("metadata", metadata(name)),
            ("spec", .map(spec + [("template", template)])),
        ])
    }

    /// A container of the image running `zkstorm` with `arguments`; `settings` (env, resources, volume
    /// mounts) follow them.
    func zkstormContainer(
        _ name: String,
        arguments: [String],
        _ settings: [(String, ManifestYAML)]
    ) -> ManifestYAML {
        .map(
            [
                ("name", .string(name)), ("image", .string(options.image)),
                ("imagePullPolicy", .string("IfNotPresent")), ("command", .list([.string("zkstorm")])),
                ("args", .list(arguments.map(ManifestYAML.string))),
            ] + settings
        )
    }

    var resultsMount: ManifestYAML {
        .map([("name", .string("results")), ("mountPath", .string(Self.resultsDirectory))])
    }

    var resultsVolume: ManifestYAML {
        .map([
            ("name", .string("results")),
            ("persistentVolumeClaim", .map([("claimName", .string(claimName))])),
        ])
    }

    /// Warm-up, measurement and `deadlineSlack`, in whole seconds: the Job's `activeDeadlineSeconds`.
    package var deadlineSeconds: Int {
        let total = workload.warmup + workload.duration + Self.deadlineSlack
        return Int(total.components.seconds) + (total.components.attoseconds > 0 ? 1 : 0)
    }

    /// Runs `zkstorm report --merge` over every shard's result once the shard Job has completed; the
    /// merged report is in its log, the merged JSON and HTML on the claim. Nil for one shard (its
    /// result is the run's).
    package var mergeJob: ManifestYAML? {
        guard options.shards > 1 else { return nil }
        let arguments =
            ["report", "--merge"] + resultFiles + [
                "--json", "\(Self.resultsDirectory)/merged.json", "--html", "\(Self.resultsDirectory)/merged.html",
            ]
        let container = zkstormContainer(
            "merge",
            arguments: arguments,
            [
                (
                    "resources",
                    .map([("requests", .map([("cpu", .string("100m")), ("memory", .string("128Mi"))]))])
                ),
                ("volumeMounts", .list([resultsMount])),
            ]
        )
        return job(
            mergeJobName,
            [("backoffLimit", .int(0)), ("activeDeadlineSeconds", .int(600))],
            container: container,
            volumes: .list([resultsVolume])
        )
    }

    /// The shards' objects (ConfigMap, claim, Indexed Job) as one multi-document YAML stream, or with
    /// `merge` the merge Job alone; `command` is recorded in the header comment.
    package func render(merge: Bool, command: String) -> String {
        var out = "# Generated by: \(command)\n"
        if merge {
            out += "# Apply after `kubectl wait --for=condition=complete job/\(jobName)`; the merged report is in\n"
            out += "# `kubectl logs job/\(mergeJobName)`, merged.json and merged.html on the claim \(claimName).\n"
            return out + "---\n" + (mergeJob?.render() ?? "")
        }
        out += "# \(options.shards) shard(s) of \(workload.name) against \(options.target), run id \(options.runId).\n"
        out += "# Each shard: \(footprint.summary)\n"
        return out + [configMap, resultsClaim, shardJob].map { "---\n" + $0.render() }.joined()
    }
}
