import Foundation
import Testing
import ZooKeeperClient

@testable import StormEngine

extension EngineTests {
    @Suite("Workload parsing")
    struct WorkloadParserTests {
        static let everyField = """
            name: full
            description: every field set
            target: 127.0.0.1:2181/chroot
            sessions: 10
            duration: 1m
            warmup: 500ms
            seed: 42
            root: /zkstorm/fixed
            keyspace:
              count: 500
              value_size: 4KiB
              distribution: {type: hotspot, hot_fraction: 0.1, hot_probability: 0.95}
            groups:
              - name: readers
                sessions: 4
                ops:
                  get: 10
                  exists: {weight: 2, watch: true}
                  children: {weight: 1, under: dir, watch: true}
                  sync: 1
                load: {model: closed, concurrency: 2, window: 3}
              - name: writers
                ops:
                  set: 5
                  create: {weight: 3, under: q, mode: persistent_sequential}
                  delete: {weight: 3, under: q, target: child}
                  multi: {weight: 1, size: 4}
                  session: 1
                load: {model: open, rate: 1500, arrivals: constant, max_in_flight: 8}
            watches:
              kind: recursive
              watchers: 30
              znodes: 3
              storm: {rounds: 7, interval: 2s, writer: watcher, timeout: 3s}
            """

        @Test func everyFieldIsRead() throws {
            let w = try WorkloadParser.parse(Self.everyField, file: "full.yaml")
            #expect(w.name == "full")
            #expect(w.description == "every field set")
            #expect(w.target == "127.0.0.1:2181/chroot")
            #expect(w.sessions == 10)
            #expect(w.duration == .seconds(60))
            #expect(w.warmup == .milliseconds(500))
            #expect(w.seed == 42)
            #expect(w.root == "/zkstorm/fixed")
            #expect(
                w.keyspace
                    == KeySpace(
                        count: 500,
                        valueSize: 4096,
                        distribution: .hotspot(hotFraction: 0.1, hotProbability: 0.95)
                    )
            )
            #expect(w.groups.count == 2)
            let readers = w.groups[0]
            #expect(readers.name == "readers" && readers.sessions == 4)
            #expect(readers.load == .closed(concurrency: 2, window: 3))
            #expect(readers.operations.map(\.kind) == [.get, .exists, .children, .sync])
            #expect(readers.operations[1] == OperationSpec(kind: .exists, weight: 2, watch: true))
            #expect(readers.operations[2] == OperationSpec(kind: .children, weight: 1, under: "dir", watch: true))
            let writers = w.groups[1]
            #expect(writers.sessions == nil)
            #expect(writers.load == .open(rate: 1500, arrivals: .constant, maxInFlight: 8))
            #expect(
                writers.operations[1]
                    == OperationSpec(kind: .create, weight: 3, under: "q", mode: .persistentSequential)
            )
            #expect(writers.operations[2] == OperationSpec(kind: .delete, weight: 3, under: "q", target: .child))
            #expect(writers.operations[3] == OperationSpec(kind: .multi, weight: 1, size: 4))
            #expect(writers.operations[4].kind == .session)
            #expect(
                w.watches
                    == WatchSpec(
                        kind: .recursive,
                        watchers: 30,
                        znodes: 3,
                        storm: StormSpec(rounds: 7, interval: .seconds(2), writer: .watcher, timeout: .seconds(3))
                    )
            )
            #expect(try w.sessionPlan() == SessionPlan(groupSessions: [4, 6], watcherSessions: 30, writerSessions: 0))
        }

        @Test func reconnectPolicies() throws {
            let groups = "groups:\n  - ops: {get: 1}\n"
            #expect(try WorkloadParser.parse(groups, file: "r.yaml").reconnect == .immediate)
            let immediate = try WorkloadParser.parse("reconnect: {policy: immediate}\n" + groups, file: "r.yaml")
            #expect(immediate.reconnect == .immediate)
            let backoff = try WorkloadParser.parse(
                "reconnect: {policy: backoff, base: 20ms, max: 1s}\n" + groups,
                file: "r.yaml"
            )
            #expect(backoff.reconnect == .exponentialBackoff(base: .milliseconds(20), max: .seconds(1)))
            let jitter = try WorkloadParser.parse("reconnect: {policy: jitter}\n" + groups, file: "r.yaml")
            #expect(jitter.reconnect == .exponentialBackoffWithJitter(base: .milliseconds(50), max: .seconds(2)))
        }

        @Test func defaults() throws {
            let w = try WorkloadParser.parse("groups:\n  - ops: {get: 1}\n", file: "min.yaml", defaultName: "min")
            #expect(w.name == "min")
            #expect(w.target == nil && w.root == nil && w.watches == nil)
            #expect(w.sessions == 8 && w.duration == .seconds(30) && w.warmup == .seconds(2) && w.seed == 1)
            #expect(w.keyspace == KeySpace(count: 1000, valueSize: 128, distribution: .uniform))
            #expect(
                w.groups == [
                    OperationGroup(
                        name: "group1",
                        sessions: nil,
                        operations: [OperationSpec(kind: .get)],
                        load: .closed(concurrency: 1, window: 1)
                    )
                ]
            )
            let open = try WorkloadParser.parse(
                "groups:\n  - ops: {get: 1}\n    load: {model: open, rate: 10}\n",
                file: "o.yaml"
            )
            #expect(
                open.groups[0].load == .open(rate: 10, arrivals: .poisson, maxInFlight: LoadModel.defaultMaxInFlight)
            )
            let storm = try WorkloadParser.parse("watches: {}\n", file: "s.yaml")
            #expect(storm.watches == WatchSpec())
            let zipf = try WorkloadParser.parse(
                "keyspace: {distribution: zipfian}\ngroups:\n  - ops: {get: 1}\n",
                file: "z.yaml"
            )
            #expect(zipf.keyspace.distribution == .zipfian(theta: 0.99))
            let hot = try WorkloadParser.parse(
                "keyspace: {distribution: hotspot}\ngroups:\n  - ops: {get: 1}\n",
                file: "h.yaml"
            )
            #expect(hot.keyspace.distribution == .hotspot(hotFraction: 0.2, hotProbability: 0.8))
        }

        /// (yaml, line, column, field, a fragment of the message)
        static let badFiles: [(String, Int, Int, String, String)] = [
            ("sesions: 3\ngroups:\n  - ops: {get: 1}\n", 1, 1, "sesions", "did you mean \"sessions\""),
            ("groups:\n  - ops: {get: 1}\nsessions: many\n", 3, 11, "sessions", "whole number"),
            ("sessions: -1\nwatches: {}\n", 1, 11, "sessions", "0...100000"),
            ("duration: 10 minutes\nwatches: {}\n", 1, 11, "duration", "30s, 500ms"),
            ("session_timeout: 500ms\nwatches: {}\n", 1, 18, "session_timeout", "at least 1s"),
            ("duration: 10ms\nwatches: {}\n", 1, 11, "duration", "at least 100ms"),
            ("root: /elsewhere\nwatches: {}\n", 1, 7, "root", "outside /zkstorm/"),
            ("keyspace:\n  value_size: 2MiB\nwatches: {}\n", 2, 15, "keyspace.value_size", "over 1 MiB"),
            (
                "keyspace:\n  distribution: zipf\nwatches: {}\n", 2, 17, "keyspace.distribution",
                "did you mean \"zipfian\""
            ),
            (
                "keyspace:\n  distribution: {type: zipfian, theta: 1.5}\nwatches: {}\n", 2, 40,
                "keyspace.distribution.theta", "out of range"
            ),
            (
                "keyspace:\n  distribution: {type: uniform, theta: 0.5}\nwatches: {}\n", 2, 33,
                "keyspace.distribution.theta", "uniform takes no parameters"
            ),
            ("groups:\n  - ops: {gte: 1}\n", 2, 11, "groups[0].ops.gte", "did you mean \"get\""),
            ("groups:\n  - ops: {get: 0}\n", 2, 10, "groups[0].ops", "positive weight"),
            (
                "groups:\n  - ops:\n      create: {mode: sticky}\n", 3, 22, "groups[0].ops.create.mode",
                "persistent, ephemeral"
            ),
            ("groups:\n  - ops:\n      get: {size: 3}\n", 3, 13, "groups[0].ops.get.size", "does not apply to get"),
            (
                "groups:\n  - ops: {get: 1}\n    load: {model: open}\n", 3, 11, "groups[0].load.rate",
                "needs a target rate"
            ),
            (
                "groups:\n  - ops: {get: 1}\n    load: {model: opne}\n", 3, 19, "groups[0].load.model",
                "did you mean \"open\""
            ),
            (
                "groups:\n  - ops: {get: 1}\n    load: {model: closed, rate: 5}\n", 3, 27, "groups[0].load.rate",
                "allowed here: model, concurrency, window"
            ),
            (
                "groups:\n  - ops: {get: 1}\n    load: {model: open, rate: 5, arivals: poisson}\n", 3, 34,
                "groups[0].load.arivals",
                "did you mean \"arrivals\"?); allowed here: model, rate, arrivals, max_in_flight"
            ),
            (
                "groups:\n  - ops: {get: 1}\n    load: {model: open, rate: 10, arrivals: bursty}\n", 3, 45,
                "groups[0].load.arrivals", "constant, poisson"
            ),
            (
                "sessions: 1\ngroups:\n  - ops: {get: 1}\n    load: {model: open, rate: 1000000}\n", 1, 11, "sessions",
                "more than they can issue"
            ),
            (
                "sessions: 2\ngroups:\n  - sessions: 3\n    ops: {get: 1}\n", 1, 11, "sessions",
                "raise sessions to at least 3"
            ),
            (
                "groups:\n  - name: a\n    ops: {get: 1}\n  - name: a\n    ops: {get: 1}\n", 4, 11, "groups[1].name",
                "must differ"
            ),
            ("groups: {get: 1}\n", 1, 9, "groups", "expected a list"),
            ("watches:\n  kind: datum\n", 2, 9, "watches.kind", "did you mean \"data\""),
            ("watches:\n  storm: {rounds: 0}\n", 2, 19, "watches.storm.rounds", "1...1000000"),
            ("watches:\n  storm: {writer: someone}\n", 2, 19, "watches.storm.writer", "dedicated, watcher"),
            ("watches:\n  watchers: 5\n  watchers: 6\n", 2, 3, "watchers", "given twice"),
            ("name: x\n", 1, 1, "", "nothing to run"),
            (
                "reconnect: {policy: backof}\ngroups:\n  - ops: {get: 1}\n", 1, 21, "reconnect.policy",
                "did you mean \"backoff\""
            ),
            (
                "reconnect: {base: 10ms}\ngroups:\n  - ops: {get: 1}\n", 1, 19, "reconnect.base",
                "only for policy backoff or jitter"
            ),
            (
                "reconnect: {policy: jitter, base: 1s, max: 10ms}\ngroups:\n  - ops: {get: 1}\n", 1, 44,
                "reconnect.max", "at least 1s"
            ),
            (
                "reconnect: {policy: jitter, cap: 1s}\ngroups:\n  - ops: {get: 1}\n", 1, 29, "reconnect.cap",
                "policy, base, max"
            ),
            ("groups:\n  - ops: {get: 1\n", 3, 1, "", "not valid YAML"),
        ]

        @Test(arguments: 0..<badFiles.count)
        func errorsNamePlaceFieldAndWhatIsAllowed(_ index: Int) throws {
            let (yaml, line, column, field, fragment) = Self.badFiles[index]
            do {
                let w = try WorkloadParser.parse(yaml, file: "bad.yaml")
                Issue.record("expected an error for case \(index), parsed \(w)")
            } catch {
                #expect(error.file == "bad.yaml")
                #expect(error.line == line, "case \(index): \(error)")
                #expect(error.column == column, "case \(index): \(error)")
                #expect(error.field == field, "case \(index): \(error)")
                #expect(error.message.contains(fragment), "case \(index): \(error)")
                #expect(error.description.hasPrefix("bad.yaml:\(line):\(column): "))
            }
        }

        static var workloadsDirectory: URL {
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent()
                .appendingPathComponent("workloads")
        }

        @Test func everyPresetFileParsesAndMatchesTheEmbeddedCopy() throws {
            let files = try FileManager.default.contentsOfDirectory(atPath: Self.workloadsDirectory.path).filter {
                $0.hasSuffix(".yaml")
            }.sorted()
            #expect(files.count == 14)
            #expect(
                Set(files.map { String($0.dropLast(5)) }) == Set(Presets.names),
                "run workloads/generate-presets.sh"
            )
            for file in files {
                let path = Self.workloadsDirectory.appendingPathComponent(file).path
                let fromFile = try WorkloadParser.load(path: path)
                let name = String(file.dropLast(5))
                let text = try String(contentsOfFile: path, encoding: .utf8)
                #expect(
                    Presets.all[name] == text.trimmingCharacters(in: .newlines),
                    "\(file) differs from the embedded copy: run workloads/generate-presets.sh"
                )
                let embedded = try Presets.workload(named: name)
                #expect(embedded == fromFile)
                #expect(embedded.name == name)
                _ = try embedded.sessionPlan()
            }
        }

        @Test func unknownPresetSuggestsAName() {
            #expect {
                try Presets.workload(named: "watch-strom")
            } throws: { error in
                (error as? WorkloadError)?.message.contains("did you mean \"watch-storm\"") == true
            }
        }

        @Test func commandLineOverridesTheFile() throws {
            let w = try WorkloadParser.parse(Self.everyField, file: "full.yaml")
            let o = try w.applying(
                WorkloadOverrides(
                    target: "h:1",
                    duration: .seconds(5),
                    sessions: 20,
                    rate: 1000,
                    seed: 7,
                    root: "/bench/x"
                )
            )
            #expect(o.target == "h:1" && o.duration == .seconds(5) && o.seed == 7 && o.root == "/bench/x")
            #expect(o.sessions == 20 && o.groups[0].sessions == 8)
            let plan = try o.sessionPlan()
            #expect(plan.groupSessions == [8, 12])
            guard case .open(let r0, _, _) = o.groups[0].load, case .open(let r1, .constant, 8) = o.groups[1].load
            else {
                Issue.record("--rate makes every group open-loop")
                return
            }
            #expect(abs(r0 - 400) < 1e-9 && abs(r1 - 600) < 1e-9)
            let storm = try Presets.workload(named: "watch-storm").applying(WorkloadOverrides(sessions: 7))
            #expect(storm.watches?.watchers == 7)
            #expect(throws: WorkloadPlanError.self) { try w.applying(WorkloadOverrides(root: "/")) }
            #expect(throws: WorkloadPlanError.self) { try w.applying(WorkloadOverrides(sessions: 1, rate: 1e9)) }
        }

        @Test func durationText() {
            #expect(DurationText.parse("250ms") == .milliseconds(250))
            #expect(DurationText.parse("1.5s") == .milliseconds(1500))
            #expect(DurationText.parse("2m") == .seconds(120))
            #expect(DurationText.parse("1h") == .seconds(3600))
            #expect(DurationText.parse("7") == .seconds(7))
            #expect(DurationText.parse("soon") == nil)
            #expect(DurationText.format(.milliseconds(1500)) == "1500ms")
        }
    }
}
