import StormMetrics
import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperTestSupport

@testable import StormEngine

/// The windowed load the peer benchmarks (`zkstorm bench client|znodes`) run, against the built-in server.
extension EngineTests {
    @Suite("Pipelined load")
    struct PipelinedLoadTests {
        @Test func everyRequestOfEverySessionIsMeasuredOnce() async throws {
            let server = try await TestTarget.builtIn.shared()
            let configuration = ZooKeeperConfiguration(connectString: server.connectString)
            let clients = [
                try await ZooKeeperClient.connect(configuration), try await ZooKeeperClient.connect(configuration),
            ]
            let root = TestTarget.uniqueRoot("pipelined-load")
            _ = try await clients[0].create(root)
            let create = ZooKeeperRequest.create(
                CreateRequest(path: root + "/n-", data: [7], mode: .persistentSequential),
                opCode: .create
            )
            let result = await PipelinedRequests.load(clients: clients, request: create, perSession: 300, window: 8)
            #expect(result.errors == 0)
            #expect(result.latency.count == 600)
            #expect(try await clients[0].getAllChildrenNumber(root) == 600)

            // Failures are counted, not dropped: NONODE for every read of a missing node.
            let missing = ZooKeeperRequest.getData(path: root + "/absent", watch: false)
            let failed = await PipelinedRequests.load(clients: clients, request: missing, perSession: 50, window: 64)
            #expect(failed.errors == 100)
            #expect(failed.latency.count == 100)

            #expect(try await clients[0].deleteRecursive(root) == 601)
            for client in clients { try await client.close() }
        }

        @Test func pipelineAnswersInRequestOrder() async throws {
            let server = try await TestTarget.builtIn.shared()
            let client = try await ZooKeeperClient.connect(ZooKeeperConfiguration(connectString: server.connectString))
            let root = TestTarget.uniqueRoot("pipeline-order")
            let requests: [ZooKeeperRequest] =
                [.create(CreateRequest(path: root, data: nil), opCode: .create)]
                + (0..<40).map { .create(CreateRequest(path: "\(root)/c\($0)", data: nil), opCode: .create) }
                + [.getData(path: root + "/absent", watch: false)]
            let outcomes = await PipelinedRequests.run(client, requests, window: 5)
            #expect(outcomes.count == 42)
            for (index, outcome) in outcomes.enumerated().dropFirst().dropLast() {
                #expect(outcome == .success(.create(path: "\(root)/c\(index - 1)")))
            }
            #expect(
                await PipelinedRequests.codes(client, [.getData(path: root + "/absent", watch: false)]) == [.noNode]
            )
            _ = try await client.deleteRecursive(root)
            try await client.close()
        }
    }
}
