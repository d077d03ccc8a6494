import Testing
import ZooKeeperProtocol

@testable import ZooKeeperServer

@Suite struct WatchRegistryTests {
    private func fire(_ registry: inout WatchRegistry, _ path: String, _ type: EventType) -> [Int] {
        var notified: [Int] = []
        registry.trigger(path: path, type: type) { notified.append($0) }
        return notified.sorted()
    }

    @Test func oneShotWatchesFireOnce() {
        var registry = WatchRegistry()
        registry.add(.data, path: "/a", watcher: 1)
        registry.add(.child, path: "/a", watcher: 2)
        #expect(fire(&registry, "/a", .nodeDataChanged) == [1])
        #expect(fire(&registry, "/a", .nodeDataChanged) == [])
        #expect(fire(&registry, "/a", .nodeChildrenChanged) == [2])
        #expect(registry.watchCount == 0)
    }

    @Test func deletionFiresDataAndChildWatchesOncePerWatcher() {
        var registry = WatchRegistry()
        registry.add(.data, path: "/a", watcher: 1)
        registry.add(.child, path: "/a", watcher: 1)
        registry.add(.child, path: "/a", watcher: 2)
        registry.add(.persistent, path: "/a", watcher: 1)
        #expect(fire(&registry, "/a", .nodeDeleted) == [1, 2])
        // The persistent watch stays.
        #expect(fire(&registry, "/a", .nodeCreated) == [1])
    }

    @Test func recursiveWatchesSeeDescendantsButNotChildEvents() {
        var registry = WatchRegistry()
        registry.add(.persistentRecursive, path: "/a", watcher: 3)
        registry.add(.persistentRecursive, path: "/", watcher: 4)
        #expect(fire(&registry, "/a/b/c", .nodeCreated) == [3, 4])
        #expect(fire(&registry, "/a", .nodeDataChanged) == [3, 4])
        #expect(fire(&registry, "/a", .nodeChildrenChanged) == [])
        #expect(fire(&registry, "/other", .nodeDeleted) == [4])
        #expect(fire(&registry, "/ab", .nodeDeleted) == [4])
    }

    @Test func removeAndCheckFollowWatcherTypes() {
        var registry = WatchRegistry()
        registry.add(.persistent, path: "/a", watcher: 1)
        let snapshot = registry
        let childKinds = WatchRegistry.kinds(for: .children)!
        let dataKinds = WatchRegistry.kinds(for: .data)!
        #expect(childKinds.contains { kind in snapshot.contains(kind, path: "/a", watcher: 1) })
        #expect(dataKinds.contains { kind in snapshot.contains(kind, path: "/a", watcher: 1) })
        #expect(WatchRegistry.kinds(for: WatcherType(9)) == nil)
        let removed = registry.remove(.persistent, path: "/a", watcher: 1)
        let removedAgain = registry.remove(.persistent, path: "/a", watcher: 1)
        #expect(removed && !removedAgain)
    }

    @Test func firedWatchesLeaveNoVisibleReverseEntries() {
        var registry = WatchRegistry()
        registry.add(.data, path: "/a", watcher: 1)
        registry.add(.child, path: "/a", watcher: 1)
        #expect(fire(&registry, "/a", .nodeDataChanged) == [1])
        #expect(registry.paths(of: 1) == [.child: ["/a"]])
        #expect(registry.dataTableByWatcher().isEmpty)
        // Many distinct one-shot watches fired over a connection's life stay bounded.
        for i in 0..<5000 {
            registry.add(.data, path: "/k\(i)", watcher: 2)
            _ = fire(&registry, "/k\(i)", .nodeDeleted)
        }
        registry.add(.data, path: "/live", watcher: 2)
        #expect(registry.paths(of: 2) == [.data: ["/live"]])
        registry.removeWatcher(2)
        #expect(registry.watchCount == 1)
    }

    @Test func closingAConnectionDropsItsWatches() {
        var registry = WatchRegistry()
        for watcher in 1...100 { registry.add(.data, path: "/hot", watcher: watcher) }
        registry.add(.persistentRecursive, path: "/", watcher: 5)
        registry.add(.child, path: "/x", watcher: 5)
        #expect(registry.watchCount == 102)
        registry.removeWatcher(5)
        #expect(registry.watchCount == 99)
        #expect(registry.paths(of: 5).isEmpty)
        #expect(fire(&registry, "/hot", .nodeDataChanged).count == 99)
        #expect(registry.dataTableByWatcher().isEmpty)
    }
}

@Suite struct SessionTrackerTests {
    @Test func timeoutsAreClampedToTicks() {
        let tracker = SessionTracker(tickMs: 2000, wallClockMs: 0)
        #expect(tracker.negotiate(1000) == 4000)
        #expect(tracker.negotiate(10_000_000) == 40_000)
        #expect(tracker.negotiate(6000) == 6000)
    }

    @Test func sessionsExpireByTickBucketUnlessTouched() {
        var tracker = SessionTracker(tickMs: 100, wallClockMs: 1_700_000_000_000)
        let a = tracker.create(timeoutMs: 200, password: [], now: 1000)
        let b = tracker.create(timeoutMs: 200, password: [], now: 1000)
        #expect(a.id != b.id && a.id >> 56 == 1)
        #expect(a.expiresAt == 1300)
        #expect(tracker.expire(now: 1250).isEmpty)
        tracker.touch(b.id, now: 1250)
        #expect(tracker.expire(now: 1300).map(\.id) == [a.id])
        #expect(tracker.count == 1)
        #expect(tracker.expire(now: 1600).map(\.id) == [b.id])
    }
}
