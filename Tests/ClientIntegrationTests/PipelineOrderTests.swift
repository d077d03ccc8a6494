import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// `pipeline` writes its requests in order: each setData below carries the version the one before it
/// leaves, so a single request overtaking another fails with BADVERSION, and each child's create
/// follows its parent's. Filled from the caller's thread, the window once let a reply's send overtake
/// one still queued for the event loop (a snapshot seed failed on NONODE).
@Suite("pipelined requests keep their order on the wire")
struct PipelineOrderTests {
    @Test(arguments: TestTarget.allCases)
    func everyRequestGoesOutInIndexOrder(target: TestTarget) async throws {
        try await withSharedClient(target) { client, root in
            let counter = root + "/counter"
            _ = try await client.create(counter, data: [0])
            for round in 0..<5 {
                let base = Int32(round * 2000)
                let sets = await client.pipeline(
                    (0..<2000).map { i in
                        .setData(path: counter, data: [UInt8(i % 256)], version: base + Int32(i))
                    },
                    window: 512
                )
                let refused = sets.enumerated().first { if case .failure = $0.element { true } else { false } }
                #expect(refused == nil, "round \(round): request \(refused?.offset ?? -1) failed out of order")
            }
            let pairs = (0..<1000).flatMap { i in ["\(root)/p\(i)", "\(root)/p\(i)/c"] }
            let creates = await client.pipeline(
                pairs.map { .create(CreateRequest(path: $0, data: nil), opCode: .create) },
                window: 512
            )
            let failed = zip(pairs, creates).first { if case .failure = $0.1 { true } else { false } }
            #expect(failed == nil, "create \(failed?.0 ?? "") failed: a child ahead of its parent")
        }
    }
}
