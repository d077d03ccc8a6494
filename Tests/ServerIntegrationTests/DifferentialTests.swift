import NIOConcurrencyHelpers
import TestRandom
import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// The same seeded random sequence of operations — several sessions, watches, multi, errors,
/// ephemerals, sequential nodes, session close — sent to real ZooKeeper 3.8 and to the built-in
/// server. Every response and every session's event stream must be the same once zxids and times,
/// which differ by nature, are taken out.
@Suite("Differential: built-in server vs ZooKeeper 3.8")
struct DifferentialTests {
    @Test(arguments: [1, 2, 3] as [UInt64])
    func sameSequenceSameAnswers(seed: UInt64) async throws {
        let root = TestTarget.uniqueRoot("diff-\(seed)")
        let real = try await Self.transcript(target: .realZooKeeper, root: root, seed: seed)
        let ours = try await Self.transcript(target: .builtIn, root: root, seed: seed)
        #expect(real.count == ours.count)
        if let i = zip(real, ours).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            let context = max(0, i - 3)...i
            Issue.record(
                """
                first difference at step \(i) (seed \(seed)):
                  real ZooKeeper: \(real[i])
                  built-in:       \(ours[i])
                preceding steps: \(context.dropLast().map { real[$0] }.joined(separator: " | "))
                """
            )
        }
    }

    /// Runs the sequence against one target and returns one normalised line per step, then each
    /// session's events.
    static func transcript(target: TestTarget, root: String, seed: UInt64) async throws -> [String] {
        let server = try await target.shared()
        var random = SplitMix64(seed: seed)
        let sessionCount = 3
        var clients: [ZooKeeperClient] = []
        var logs: [NIOLockedValueBox<[String]>] = []
        for _ in 0..<sessionCount {
            let (client, log) = try await connect(server.connectString)
            clients.append(client)
            logs.append(log)
        }
        var lines: [String] = []
        _ = try await clients[0].send(.create(CreateRequest(path: root, data: nil), opCode: .create))

        let names = ["a", "b", "c", "a/x", "a/y", "b/z", "e"]
        func path() -> String { root + "/" + names[Int(random.next() % UInt64(names.count))] }
        func data() -> [UInt8] { Array("v\(random.next() % 100)".utf8) }
        func version() -> Int32 { random.next() % 3 == 0 ? Int32(random.next() % 3) : -1 }

        for step in 0..<300 {
            let s = Int(random.next() % UInt64(sessionCount))
            let request: ZooKeeperRequest
            switch random.next() % 14 {
            case 0, 1:
                request = .create(CreateRequest(path: path(), data: data()), opCode: .create)
            case 2:
                request = .create(CreateRequest(path: path(), data: data(), mode: .ephemeral), opCode: .create2)
            case 3:
                request = .create(
                    CreateRequest(path: path() + "-s", data: nil, mode: .persistentSequential),
                    opCode: .create
                )
            case 4:
                request = .delete(path: path(), version: version())
            case 5:
                request = .exists(path: path(), watch: true)
            case 6:
                request = .getData(path: path(), watch: true)
            case 7:
                request = .setData(path: path(), data: data(), version: version())
            case 8:
                request = .getChildren(path: path(), watch: true)
            case 9:
                request = .getChildren2(path: root, watch: random.next() % 2 == 0)
            case 10:
                request = .multi([
                    .create(CreateRequest(path: path(), data: data()), opCode: .create),
                    .setData(path: path(), data: data(), version: version()),
                    .check(path: path(), version: version()),
                ])
            case 11:
                request = .multiRead([.getData(path: path()), .getChildren(path: path())])
            case 12:
                request = .getAllChildrenNumber(path: root)
            default:
                // Close this session (its ephemerals go, its watchers fire elsewhere) and open a new one.
                try await clients[s].close()
                try await settle(clients.indices.filter { $0 != s }.map { clients[$0] }, root: root)
                let (client, log) = try await connect(server.connectString)
                lines.append("events s\(s) (closed): " + logs[s].withLockedValue { $0 }.joined(separator: ", "))
                clients[s] = client
                logs[s] = log
                lines.append("\(step) s\(s) close+reconnect")
                continue
            }
            let answer: String
            do {
                answer = describe(try await clients[s].send(request), root: root)
            } catch let error as ZooKeeperError {
                answer = "error \(error.code.name)"
            }
            lines.append("\(step) s\(s) \(request.opCode) \(request.path.map { relative($0, root) } ?? "") → \(answer)")
        }
        try await settle(clients, root: root)
        for (i, log) in logs.enumerated() {
            lines.append("events s\(i): " + log.withLockedValue { $0 }.joined(separator: ", "))
        }
        for c in clients { try await c.close() }
        return lines
    }

    static func connect(_ connectString: String) async throws -> (ZooKeeperClient, NIOLockedValueBox<[String]>) {
        let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: connectString))
        let log = NIOLockedValueBox<[String]>([])
        client.setEventHandler { event in
            guard event.type != .none else { return }
            log.withLockedValue { $0.append("\(event.type) \(event.path.split(separator: "/").last ?? "")") }
        }
        return (client, log)
    }

    /// A server sends every watch event before the reply to any later request on the same
    /// connection, so one sync round trip per session flushes what is due.
    static func settle(_ clients: [ZooKeeperClient], root: String) async throws {
        for c in clients { _ = try await c.send(.sync(path: root)) }
    }

    static func relative(_ path: String, _ root: String) -> String {
        path.hasPrefix(root) ? String(path.dropFirst(root.count)) : path
    }

    static func describe(_ stat: Stat) -> String {
        "v\(stat.version) cv\(stat.cversion) av\(stat.aversion) len\(stat.dataLength) kids\(stat.numChildren)"
            + (stat.ephemeralOwner != 0 ? " eph" : "")
    }

    static func describe(_ response: ZooKeeperResponse, root: String) -> String {
        switch response {
        case .empty: "ok"
        case .create(let path): "created \(relative(path, root))"
        case .create2(let path, let stat): "created \(relative(path, root)) [\(describe(stat))]"
        case .stat(let stat): "[\(describe(stat))]"
        case .data(let data, let stat): "\(String(decoding: data ?? [], as: UTF8.self)) [\(describe(stat))]"
        case .acl(let acl, let stat): "\(acl.count) acl [\(describe(stat))]"
        case .children(let children): children.sorted().joined(separator: ",")
        case .children2(let children, let stat): children.sorted().joined(separator: ",") + " [\(describe(stat))]"
        case .sync(let path): "synced \(relative(path, root))"
        case .multi(let results): "multi(" + results.map { describe($0, root: root) }.joined(separator: "; ") + ")"
        case .ephemerals(let paths): paths.sorted().joined(separator: ",")
        case .allChildrenNumber(let n): "\(n) descendants"
        case .whoAmI(let infos): infos.map { "\($0.authScheme):\($0.user)" }.joined(separator: ",")
        case .sasl: "sasl"
        }
    }

    static func describe(_ result: MultiResult, root: String) -> String {
        switch result {
        case .create(let path): "create \(relative(path, root))"
        case .create2(let path, let stat): "create2 \(relative(path, root)) [\(describe(stat))]"
        case .delete: "delete"
        case .setData(let stat): "setData [\(describe(stat))]"
        case .check: "check"
        case .getData(let data, let stat): "getData \(String(decoding: data ?? [], as: UTF8.self)) [\(describe(stat))]"
        case .getChildren(let children): "getChildren " + children.sorted().joined(separator: ",")
        case .error(let code): "error \(code.name)"
        }
    }
}
