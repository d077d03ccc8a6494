import NIOCore
import StormEngine
import Testing
import ZooKeeperFiles
import ZooKeeperProtocol

/// Seeding requests built from a real snapshot: pure, no server.
@Suite struct SnapshotSeederTests {
    func snapshot() throws -> Snapshot {
        try SnapshotReader.read(path: FixtureFiles.path(FixtureFiles.names(prefix: "snapshot.").last!))
    }

    func depth(_ path: String, under root: String) -> Int {
        path.dropFirst(root.count).filter { $0 == "/" }.count
    }

    @Test func copiesPathsAndDataUnderTheRootParentsFirst() throws {
        let snap = try snapshot()
        let requests = SnapshotSeeder.requests(snap, root: "/zkstorm/s", shapeOnly: false)
        let copied = snap.nodes.filter { !$0.path.isEmpty && !$0.path.hasPrefix("/zookeeper") }
        #expect(requests.map(\.path) == copied.map { "/zkstorm/s" + $0.path })
        #expect(requests.map(\.data) == copied.map { $0.data.map { Array($0.readableBytesView) } ?? [] })
        var made: Set<String> = ["/zkstorm/s"]
        for r in requests {
            #expect(made.contains(String(r.path[..<r.path.lastIndex(of: "/")!])), "\(r.path) before its parent")
            made.insert(r.path)
        }
    }

    @Test func shapeOnlyKeepsTheShapeAndNoNameOrValue() throws {
        let snap = try snapshot()
        let copy = SnapshotSeeder.requests(snap, root: "/r", shapeOnly: false)
        let shape = SnapshotSeeder.requests(snap, root: "/r", shapeOnly: true)
        #expect(shape.count == copy.count)
        #expect(shape.map { depth($0.path, under: "/r") } == copy.map { depth($0.path, under: "/r") })
        #expect(shape.map { $0.data?.count } == copy.map { $0.data?.count })
        let names = Set(copy.flatMap { $0.path.split(separator: "/").dropFirst() })
        #expect(shape.allSatisfy { $0.path.split(separator: "/").dropFirst().allSatisfy { !names.contains($0) } })
        #expect(!shape.contains { $0.data == Array("v1".utf8) || $0.data == Array("root-data".utf8) })
    }
}
