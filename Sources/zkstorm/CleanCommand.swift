import ArgumentParser
import Foundation
import Logging
import StormEngine
import ZooKeeperClient

/// `zkstorm clean --target HOSTS [--older-than 1h] [--dry-run]`: removes the roots dead runs left.
struct CleanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clean",
        abstract: "List and remove the run roots that dead runs left under /zkstorm on a target.",
        discussion: """
            A run root's data names its owner session, start time and zkstorm version, and the root holds \
            an ephemeral `owner` znode while its run lives (a sharded run's root also while any shard's \
            ephemeral `shards/ready-I` is there): live runs are never touched, nor anything under /zkstorm \
            that is not a zkstorm run root.
            Exit codes: 0 done (also when there was nothing to remove), 64 usage, 69 target unreachable.
            """
    )

    @Option(help: "ZooKeeper connect string HOSTS[/chroot] of the target to clean.")
    var target: String

    @Option(
        name: .customLong("older-than"),
        parsing: .unconditional,
        help: "Only roots whose run started at least this long ago, e.g. 1h or 30m."
    )
    var olderThan: String?

    @Flag(name: .customLong("dry-run"), help: "List what would be removed; remove nothing.")
    var dryRun = false

    func run() async throws {
        TerminalOutput.ignoreBrokenPipes()
        var minimumAge: Duration = .zero
        if let olderThan {
            guard let value = DurationText.parse(olderThan) else {
                TerminalOutput.printError(
                    "zkstorm clean: --older-than \(olderThan): expected a duration such as 1h or 30m\n"
                )
                throw ExitCode(64)
            }
            minimumAge = value
        }
        do {
            _ = try ConnectString(parsing: target)
        } catch {
            TerminalOutput.printError("zkstorm clean: --target \(target): \(error)\n")
            throw ExitCode(64)
        }
        let client: ZooKeeperClient
        do {
            client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: target))
        } catch {
            TerminalOutput.printError("zkstorm clean: cannot reach ZooKeeper at \(target): \(error)\n")
            throw ExitCode(69)
        }
        let cleaner = RunRootCleaner(client: client, logger: Logger(label: "zkstorm.clean"))
        let roots: [RunRootCleaner.Root]
        do {
            roots = try await cleaner.list()
        } catch {
            try? await client.close()
            TerminalOutput.printError("zkstorm clean: cannot list /zkstorm on \(target): \(error)\n")
            throw ExitCode(69)
        }
        let now = Date()
        var removed = 0
        var failed = 0
        for root in roots {
            let age = now.timeIntervalSince(root.owner?.startedAt ?? root.created)
            let started = root.owner?.started ?? "?"
            let description =
                "\(root.path)  run \(root.owner?.run ?? "?"), session \(root.owner?.session ?? "?"), started \(started), zkstorm \(root.owner?.zkstorm ?? "?"), \(root.znodes) znodes"
            if root.live {
                TerminalOutput.print("live     \(description)\n")
            } else if age < minimumAge.seconds {
                TerminalOutput.print("young    \(description)\n")
            } else if dryRun {
                TerminalOutput.print("dead     \(description) (would remove)\n")
            } else {
                do {
                    try await cleaner.remove(root)
                    removed += 1
                    TerminalOutput.print("removed  \(description)\n")
                } catch {
                    failed += 1
                    TerminalOutput.printError("zkstorm clean: could not remove \(root.path): \(error)\n")
                }
            }
        }
        try? await client.close()
        TerminalOutput.print(
            "\(roots.count) run root(s) under /zkstorm on \(target): \(removed) removed\(failed > 0 ? ", \(failed) failed" : "")\n"
        )
        if failed > 0 { throw ExitCode(69) }
    }
}
