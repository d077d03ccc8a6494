/// What one shard of a workload needs from its pod: its share of the sessions, and the CPU and memory
/// requested for them, from the generator's footprint measured per session.
///
/// Measured with a release build of `zkstorm run` (open loop, 1,000 ops/s of get/set in all, 2 s warm-up +
/// 20 s) against `zkstorm serve` on one quiet 2-core machine, `/usr/bin/time` (deploy/kubernetes/README.md
/// has the command): 500 sessions peaked at 59 MiB RSS and used 3.1 CPU-seconds, 5,000 sessions at
/// 111 MiB and 4.6 CPU-seconds. The line through both points gives the constants below; CPU is the
/// CPU-seconds over the run's nominal 22 s. Most of the CPU is the requests (1,000 ops/s), not the
/// sessions: a heavier workload needs more, so re-measure with yours before a large run.
package struct GeneratorFootprint: Sendable, Equatable {
    /// Resident memory of a run apart from its sessions, MiB.
    package static let baseMemoryMiB = 53.0
    /// Resident memory per session (its connection, buffers and its share of the lossless histograms), MiB.
    package static let memoryMiBPerSession = 0.0116
    /// CPU apart from the sessions, millicores.
    package static let baseMilliCPU = 135.0
    /// CPU per session at the measured load, millicores.
    package static let milliCPUPerSession = 0.015
    /// The memory limit is this many times the request: room for bursts (reconnect storms) before
    /// the pod is killed, which would lose the shard's result.
    package static let memoryLimitFactor = 2.0

    /// Sessions of the busiest shard (the workload's sessions divided among the shards, rounded up).
    package var sessionsPerShard: Int
    /// The workload's open-loop operations per second divided among the shards.
    package var openLoopRatePerShard: Double
    package var memoryRequestMiB: Int
    package var memoryLimitMiB: Int
    package var milliCPURequest: Int

    package init(sessionsPerShard: Int, openLoopRatePerShard: Double) {
        self.sessionsPerShard = sessionsPerShard
        self.openLoopRatePerShard = openLoopRatePerShard
        let sessions = Double(sessionsPerShard)
        let memory = (Self.baseMemoryMiB + Self.memoryMiBPerSession * sessions).rounded(.up)
        memoryRequestMiB = Int(memory)
        memoryLimitMiB = Int((memory * Self.memoryLimitFactor).rounded(.up))
        milliCPURequest = Int((Self.baseMilliCPU + Self.milliCPUPerSession * sessions).rounded(.up))
    }

    /// One shard's footprint of `workload`, whose sessions are `plan` (a control session per shard added).
    package init(workload: Workload, plan: SessionPlan, shards: Int) {
        let perShard = (plan.total + shards - 1) / shards + 1
        let rate = workload.groups.reduce(0.0) { sum, group in
            if case .open(let rate, _, _) = group.load { return sum + rate }
            return sum
        }
        self.init(sessionsPerShard: perShard, openLoopRatePerShard: rate / Double(shards))
    }

    /// The container's `resources`: CPU and memory requested, memory limited (no CPU limit, since
    /// throttling would show up as latency that is the generator's, not the target's).
    package var resources: ManifestYAML {
        .map([
            (
                "requests",
                .map([("cpu", .string("\(milliCPURequest)m")), ("memory", .string("\(memoryRequestMiB)Mi"))])
            ),
            ("limits", .map([("memory", .string("\(memoryLimitMiB)Mi"))])),
        ])
    }

    /// One line for the manifests' header.
    package var summary: String {
        var text = "\(sessionsPerShard) sessions"
        if openLoopRatePerShard > 0 { text += ", \(Int(openLoopRatePerShard.rounded())) open-loop ops/s" }
        return text + "; requests \(milliCPURequest)m CPU, \(memoryRequestMiB)Mi memory (limit \(memoryLimitMiB)Mi)"
    }
}
