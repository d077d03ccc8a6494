import Testing

@testable import StormEngine

/// `watches.stall` (slow consumers): parsed, written back by `--dry-run`, and every bad value refused
/// naming file, line and field.
extension EngineTests {
    @Suite("Stall parsing")
    struct StallParserTests {
        static func storm(_ stall: String, watchers: Int = 20, rounds: Int = 8) -> String {
            """
            watches:
              kind: persistent
              watchers: \(watchers)
              storm: {rounds: \(rounds), interval: 100ms}
              stall: \(stall)
            """
        }

        @Test func parsesAndRendersBack() throws {
            let w = try WorkloadParser.parse(
                Self.storm("{watchers: 4, from_round: 3, reads: 16, value: 512KiB}"),
                file: "s.yaml"
            )
            #expect(w.watches?.stall == StallSpec(watchers: 4, fromRound: 3, reads: 16, value: 512 * 1024))
            let again = try WorkloadParser.parse(WorkloadYAML.render(w), file: "again.yaml")
            #expect(again.watches?.stall == w.watches?.stall)
        }

        @Test func defaultsNeedOnlyTheMap() throws {
            let w = try WorkloadParser.parse(Self.storm("{watchers: 2}"), file: "s.yaml")
            #expect(w.watches?.stall == StallSpec(watchers: 2, fromRound: 2, reads: 16, value: 256 * 1024))
        }

        @Test(arguments: [
            ("{watchers: 20}", "watches.stall.watchers", "1...19"),
            ("{watchers: 1, from_round: 1}", "watches.stall.from_round", "2...8"),
            ("{watchers: 1, from_round: 9}", "watches.stall.from_round", "2...8"),
            ("{watchers: 1, value: 2MiB}", "watches.stall.value", "1 MiB"),
            ("{watchers: 1, reads: -1}", "watches.stall.reads", "0...10000"),
            ("{watchers: 1, stall_at: 3}", "watches.stall.stall_at", "from_round"),
        ])
        func refusesBadValues(_ stall: String, _ field: String, _ fragment: String) {
            do {
                let w = try WorkloadParser.parse(Self.storm(stall), file: "bad.yaml")
                Issue.record("parsed \(w)")
            } catch {
                #expect(error.file == "bad.yaml")
                #expect(error.line == 5, "\(error)")
                #expect(error.field == field, "\(error)")
                #expect(error.description.contains(fragment), "\(error)")
            }
        }

        @Test func needsAHealthyWatcherABaselineRoundAndNoWatcherStages() {
            #expect(throws: WorkloadError.self) {
                try WorkloadParser.parse(Self.storm("{watchers: 1}", watchers: 1), file: "bad.yaml")
            }
            #expect(throws: WorkloadError.self) {
                try WorkloadParser.parse(Self.storm("{watchers: 1}", rounds: 1), file: "bad.yaml")
            }
            let staged = Self.storm("{watchers: 1}") + "\nstages: [{duration: 1s, watchers: 10}]\n"
            do {
                _ = try WorkloadParser.parse(staged, file: "bad.yaml")
                Issue.record("stages ramping watchers were accepted with a stall")
            } catch {
                #expect(error.message.contains("cannot be combined with `watches.stall`"), "\(error)")
            }
        }
    }
}
