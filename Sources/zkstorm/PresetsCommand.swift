import ArgumentParser
import StormEngine

/// `zkstorm presets [list]` and `zkstorm presets show NAME`: the built-in workloads.
struct PresetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presets",
        abstract: "List the preset workloads, or print one's YAML (a starting point for your own file).",
        subcommands: [List.self, Show.self],
        defaultSubcommand: List.self
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the presets with their descriptions.")

        func run() throws {
            TerminalOutput.ignoreBrokenPipes()
            for name in Presets.names {
                let description = (try? Presets.workload(named: name).description) ?? ""
                TerminalOutput.print("\(ReportFormat.pad(name, 22, right: false)) \(description)\n")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a preset's YAML: `zkstorm presets show read-heavy > mine.yaml`."
        )

        @Argument(help: "Preset name.")
        var name: String

        func run() throws {
            TerminalOutput.ignoreBrokenPipes()
            guard let text = Presets.all[name] else {
                do {
                    _ = try Presets.workload(named: name)
                } catch {
                    TerminalOutput.printError("zkstorm presets show: \(error.message)\n")
                }
                throw ExitCode(64)
            }
            TerminalOutput.print(text.hasSuffix("\n") ? text : text + "\n")
        }
    }
}
