import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperServer
import ZooKeeperTestSupport

/// The project's own client against the built-in server: sweeps, fan-out and session ends.
@Suite struct NativeClientTests {
    private func connect(_ server: ZooKeeperServer) async throws -> ZooKeeperClient {
        var configuration = ZooKeeperConfiguration(connectString: server.connectString)
        configuration.sessionTimeout = .seconds(4)
        return try await ZooKeeperClient.connect(configuration)
    }

    @Test func containersAndTTLNodesAreSwept() async throws {
        try await withBuiltInServer(sweep: .milliseconds(50)) { server in
            let client = try await connect(server)
            _ = try await client.createContainer("/box")
            _ = try await client.create("/box/item")
            _ = try await client.create("/short", mode: .persistentWithTTL, ttl: 100)
            _ = try await client.create("/parent", mode: .persistentWithTTL, ttl: 100)
            _ = try await client.create("/parent/child")
            _ = try await client.exists("/box", watch: true)
            try await client.delete("/box/item")
            let deadline = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < deadline {
                if try await client.exists("/box") == nil, try await client.exists("/short") == nil { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(try await client.exists("/box") == nil)
            #expect(try await client.exists("/short") == nil)
            // A TTL node with children stays.
            #expect(try await client.exists("/parent") != nil)
            try await client.close()
        }
    }

    @Test func everyWatcherHearsOneWrite() async throws {
        try await withBuiltInServer { server in
            let writer = try await connect(server)
            _ = try await writer.create("/herd", data: [0])
            var watchers: [ZooKeeperClient] = []
            for _ in 0..<50 {
                let watcher = try await connect(server)
                _ = try await watcher.getData("/herd", watch: true)
                watchers.append(watcher)
            }
            _ = try await writer.setData("/herd", data: [1])
            for watcher in watchers {
                var iterator = watcher.events.makeAsyncIterator()
                while let event = await iterator.next() {
                    if event.type == .none { continue }
                    #expect(event.type == .nodeDataChanged && event.path == "/herd")
                    break
                }
                // The reply that follows reflects the write.
                #expect(try await watcher.getData("/herd").data == [1])
                try await watcher.close()
            }
            try await writer.close()
        }
    }

    @Test func concurrentCompareAndSetIsLinearizable() async throws {
        try await withBuiltInServer { server in
            let setup = try await connect(server)
            _ = try await setup.create("/counter", data: Array("0".utf8))
            // Eight sessions increment one counter with versioned setData; every success must win a
            // distinct version and the final value must count them all.
            let versions = try await withThrowingTaskGroup(of: [Int32].self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let client = try await connect(server)
                        var won: [Int32] = []
                        for _ in 0..<40 {
                            while true {
                                let (data, stat) = try await client.getData("/counter")
                                let next = Int(String(decoding: data, as: UTF8.self))! + 1
                                do {
                                    let updated = try await client.setData(
                                        "/counter",
                                        data: Array(String(next).utf8),
                                        version: stat.version
                                    )
                                    won.append(updated.version)
                                    break
                                } catch let error as ZooKeeperError where error.code == .badVersion {
                                    continue
                                }
                            }
                        }
                        try await client.close()
                        return won
                    }
                }
                var all: [Int32] = []
                for try await won in group { all += won }
                return all
            }
            #expect(versions.count == 320)
            #expect(Set(versions).count == 320)
            let (data, stat) = try await setup.getData("/counter")
            #expect(String(decoding: data, as: UTF8.self) == "320")
            #expect(stat.version == 320)
            try await setup.close()
        }
    }

    @Test func closingASessionRemovesItsEphemerals() async throws {
        try await withBuiltInServer { server in
            let observer = try await connect(server)
            let member = try await connect(server)
            _ = try await observer.create("/members")
            _ = try await member.create("/members/m-", mode: .ephemeralSequential)
            #expect(try await member.getEphemerals() == ["/members/m-0000000000"])
            #expect(try await observer.getChildren("/members", watch: true).count == 1)
            try await member.close()
            var iterator = observer.events.makeAsyncIterator()
            while let event = await iterator.next() {
                if event.type == .none { continue }
                #expect(event.type == .nodeChildrenChanged && event.path == "/members")
                break
            }
            #expect(try await observer.getChildren("/members").isEmpty)
            try await observer.close()
        }
    }
}
