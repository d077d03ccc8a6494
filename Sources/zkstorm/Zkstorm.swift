import ArgumentParser
import StormMetrics

@main
struct Zkstorm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zkstorm",
        abstract: "Load generator and watch-latency observatory for ZooKeeper.",
        discussion: """
            Drives read, write and watch-storm workloads against a built-in ZooKeeper-compatible server \
            (the default) or an external ensemble, and reports latency and watch-notification lag.
            """,
        version: PrometheusExposition.zkstormVersion,
        subcommands: [
            RunCommand.self, ReportCommand.self, CheckCommand.self, ServeCommand.self, CleanCommand.self,
            PresetsCommand.self, TxnLogCommand.self, ReplayCommand.self, SweepCommand.self,
            BenchCommand.self, K8sCommand.self,
        ]
    )
}
