import NIOCore
import StormEngine
import Testing
import ZooKeeperFiles
import ZooKeeperProtocol

/// The replay plan built from the real fixture logs: pure, no server.
@Suite struct ReplayPlanTests {
    func entries() throws -> [TxnLogEntry] {
        var out: [TxnLogEntry] = []
        for name in FixtureFiles.names(prefix: "log.") {
            let reader = try TxnLogReader(path: FixtureFiles.path(name))
            while let e = try reader.next() { out.append(e) }
        }
        return out
    }

    func requests(_ plan: ReplayPlan) -> [ZooKeeperRequest] {
        plan.steps.compactMap { if case .request(let r, _) = $0.action { r } else { nil } }
    }

    @Test func everyWriteLandsUnderTheRootWithItsLoggedName() throws {
        let plan = ReplayPlan.build(try entries(), root: "/zkstorm/r1", options: .init())
        let reqs = requests(plan)
        #expect(reqs.count == 42)
        var paths: [String] = []
        for r in reqs {
            if case .multi(let ops) = r { paths += ops.map(\.path) } else { paths.append(r.path!) }
        }
        #expect(paths.allSatisfy { $0.hasPrefix("/zkstorm/r1/") })
        let creates = reqs.compactMap { if case .create(let c, _) = $0 { c } else { nil } }
        let member = creates.first { $0.path == "/zkstorm/r1/app/live/member-0000000000" }
        #expect(member?.mode == .ephemeral)
        let task = creates.first { $0.path == "/zkstorm/r1/app/queue/task-0000000001" }
        #expect(task?.mode == .persistent)
        #expect(creates.allSatisfy { $0.acl == ACL.openUnsafe })
        #expect(
            plan.skipped == ["failed multi": 1, "failed request (error txn)": 2, "setACL (ACLs are not replayed)": 1]
        )
        #expect(plan.clientIds.count == 4)
        #expect(plan.openAtStart.isEmpty)
        let closes = plan.steps.filter { if case .close = $0.action { true } else { false } }
        #expect(closes.count == 3)
    }

    @Test func setDataVersions() throws {
        func versions(_ check: Bool) throws -> [Int32] {
            var options = ReplayPlan.Options()
            options.checkVersions = check
            return requests(ReplayPlan.build(try entries(), root: "/r", options: options)).compactMap {
                if case .setData(let p, _, let v) = $0, p == "/r/app/config" { v } else { nil }
            }
        }
        #expect(try versions(false) == [-1, -1, -1, -1, -1])
        // The log holds the new version; the request expects the one before it.
        #expect(try versions(true) == [0, 1, 2, 3, 4])
    }

    @Test func pacingAndZxidRange() throws {
        let all = try entries()
        var options = ReplayPlan.Options()
        options.pacing = .speed(4)
        let fast = ReplayPlan.build(all, root: "/r", options: options)
        let span = all.last!.header.time - all.first!.header.time
        #expect(fast.steps.last!.offset == UInt64(Double(span) * 1e6 / 4))
        options.pacing = .rate(100)
        let even = ReplayPlan.build(all, root: "/r", options: options)
        #expect(even.steps.enumerated().allSatisfy { $0.element.offset == UInt64($0.offset) * 10_000_000 })
        options.fromZxid = 0x10
        options.toZxid = 0x20
        let range = ReplayPlan.build(all, root: "/r", options: options)
        #expect(range.firstZxid == 0x10 && range.lastZxid == 0x20)
        // The range starts mid-session: that session is opened before the first step.
        #expect(!range.openAtStart.isEmpty)
    }

    /// A log naming a path that could climb out of the root is skipped, never sent.
    @Test func hostilePathsAreSkipped() throws {
        var entries: [TxnLogEntry] = []
        for (zxid, path) in [(1, "/../escape"), (2, "/a/./b"), (3, "relative"), (4, "/a//b"), (5, "/fine")] {
            var payload = ByteBuffer()
            payload.writeJuteLong(7)
            payload.writeJuteInt(1)
            payload.writeJuteLong(Int64(zxid))
            payload.writeJuteLong(1000)
            payload.writeJuteInt(OpCode.create.rawValue)
            payload.writeJuteString(path)
            payload.writeJuteBuffer([UInt8]([1, 2]))
            payload.writeJuteRecordVector(ACL.openUnsafe)
            payload.writeJuteBool(false)
            payload.writeJuteInt(0)
            entries.append(try TxnLogEntry.decode(payload: payload, offset: 0, size: 0))
        }
        let plan = ReplayPlan.build(entries, root: "/zkstorm/x", options: .init())
        #expect(requests(plan).map(\.path) == ["/zkstorm/x/fine"])
        #expect(plan.skipped.values.reduce(0, +) == 4)
    }
}
