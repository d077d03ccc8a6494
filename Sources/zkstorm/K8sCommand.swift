import ArgumentParser
import Foundation
import StormEngine

/// `zkstorm k8s`: prints the Kubernetes manifests that run a workload as N shards of one run.
struct K8sCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "k8s",
        abstract: "Print Kubernetes manifests that run a workload as N shards (an Indexed Job) against an ensemble.",
        discussion: """
            Prints a ConfigMap (the workload, the target, the Pushgateway), a ReadWriteMany claim for the \
            shards' result JSON and an Indexed Job (completions = parallelism = N) whose pod I runs \
            `zkstorm run --shard I/N` through JOB_COMPLETION_INDEX, ZKSTORM_SHARDS and ZKSTORM_RUN_ID. \
            Resource requests are sized from the generator's measured footprint per session. With \
            --merge-job it prints instead the Job that joins the shards' results with `zkstorm report \
            --merge`, to apply once the shards are done. Pipe the output to `kubectl apply -f -`; \
            deploy/kubernetes/README.md walks through a run.
            Exit codes: 0 printed, 64 a bad option or a workload that cannot run, 65 a malformed workload \
            file, 66 the workload file missing or unreadable.
            """
    )

    @Option(help: "Number of shards (pods), at least 1.")
    var shards: Int

    @Option(help: "Workload file (YAML), embedded in the ConfigMap.")
    var workload: String

    @Option(help: "ZooKeeper connect string of the ensemble as the pods reach it, e.g. zk-0.zk:2181,zk-1.zk:2181.")
    var target: String

    @Option(help: "Pushgateway URL the shards push to, e.g. http://pushgateway.monitoring:9091.")
    var pushgateway: String?

    @Option(help: "Container image holding zkstorm on its PATH.")
    var image: String = KubernetesManifests.defaultImage

    @Option(
        name: .customLong("run-id"),
        help: "Run id every shard shares (default: a new one, as `zkstorm run` makes)."
    )
    var runId: String?

    @Option(help: "Namespace of every object (default: kubectl's current namespace).")
    var namespace: String?

    @Flag(name: .customLong("merge-job"), help: "Print only the Job that merges the shards' results.")
    var mergeJob = false

    func failure(_ message: String, _ code: Int32) -> ExitCode {
        TerminalOutput.printError("zkstorm k8s: \(message)\n")
        return ExitCode(code)
    }

    func run() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: workload, isDirectory: &isDirectory) else {
            throw failure("--workload \(workload): no such file; give a workload YAML file (see workloads/)", 66)
        }
        if isDirectory.boolValue {
            throw failure("--workload \(workload) is a directory; give a workload YAML file", 66)
        }
        let text: String
        do {
            text = try String(contentsOfFile: workload, encoding: .utf8)
        } catch {
            throw failure("--workload \(workload): cannot read it (\(error.localizedDescription))", 66)
        }
        let options = KubernetesManifests.Options(
            shards: shards,
            workloadText: text,
            workloadFile: workload,
            target: target,
            pushgateway: pushgateway,
            image: image,
            runId: runId ?? RunIdentifier.make(),
            namespace: namespace
        )
        let manifests: KubernetesManifests
        do {
            manifests = try KubernetesManifests(options)
        } catch {
            throw failure(error.message, error.exitCode)
        }
        if mergeJob && shards == 1 {
            throw failure("--merge-job: one shard's result JSON is the run's result; there is nothing to merge", 64)
        }
        if manifests.workload.security != TargetSecurity() {
            TerminalOutput.printError(
                "zkstorm k8s: the workload's target has TLS/SASL files; mount them (a Secret) at the same paths in the pod\n"
            )
        }
        var command = ["zkstorm", "k8s", "--shards", String(shards), "--workload", workload, "--target", target]
        if let pushgateway { command += ["--pushgateway", pushgateway] }
        command += ["--image", image, "--run-id", options.runId]
        if let namespace { command += ["--namespace", namespace] }
        if mergeJob { command.append("--merge-job") }
        TerminalOutput.print(manifests.render(merge: mergeJob, command: command.joined(separator: " ")))
    }
}
