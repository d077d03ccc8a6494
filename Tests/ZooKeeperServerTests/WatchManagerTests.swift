import Testing
import ZooKeeperProtocol

@testable import ZooKeeperServer

@Suite struct WatchManagerTests {
    private func fire(_ manager: inout WatchManager, _ path: String, _ type: EventType) -> [Int] {
        var notified: [Int] = []
        manager.trigger(path: path, type: type) { notified.append($0) }
        return notified.sorted()
    }

    @Test func oneShotWatchesFireOnce() {
        var manager = WatchManager()
        manager.add(.data, path: "/a", watcher: 1)
        manager.add(.child, path: "/a", watcher: 2)
        #expect(fire(&manager, "/a", .nodeDataChanged) == [1])
        #expect(fire(&manager, "/a", .nodeDataChanged) == [])
        #expect(fire(&manager, "/a", .nodeChildrenChanged) == [2])
        #expect(manager.watchCount == 0)
    }

    @Test func deletionFiresDataAndChildWatchesOncePerWatcher() {
        var manager = WatchManager()
        manager.add(.data, path: "/a", watcher: 1)
        manager.add(.child, path: "/a", watcher: 1)
        manager.add(.child, path: "/a", watcher: 2)
        manager.add(.persistent, path: "/a", watcher: 1)
        #expect(fire(&manager, "/a", .nodeDeleted) == [1, 2])
        // The persistent watch stays.
        #expect(fire(&manager, "/a", .nodeCreated) == [1])
    }

    @Test func recursiveWatchesSeeDescendantsButNotChildEvents() {
        var manager = WatchManager()
        manager.add(.persistentRecursive, path: "/a", watcher: 3)
        manager.add(.persistentRecursive, path: "/", watcher: 4)
        #expect(fire(&manager, "/a/b/c", .nodeCreated) == [3, 4])
        #expect(fire(&manager, "/a", .nodeDataChanged) == [3, 4])
        #expect(fire(&manager, "/a", .nodeChildrenChanged) == [])
        #expect(fire(&manager, "/other", .nodeDeleted) == [4])
        #expect(fire(&manager, "/ab", .nodeDeleted) == [4])
    }

    @Test func removeAndCheckFollowWatcherTypes() {
        var manager = WatchManager()
        manager.add(.persistent, path: "/a", watcher: 1)
        let snapshot = manager
        let childKinds = WatchManager.kinds(for: .children)!
        let dataKinds = WatchManager.kinds(for: .data)!
        #expect(childKinds.contains { kind in snapshot.contains(kind, path: "/a", watcher: 1) })
        #expect(dataKinds.contains { kind in snapshot.contains(kind, path: "/a", watcher: 1) })
        #expect(WatchManager.kinds(for: WatcherType(9)) == nil)
        let removed = manager.remove(.persistent, path: "/a", watcher: 1)
        let removedAgain = manager.remove(.persistent, path: "/a", watcher: 1)
        #expect(removed && !removedAgain)
    }

    @Test func firedWatchesLeaveNoVisibleReverseEntries() {
        var manager = WatchManager()
        manager.add(.data, path: "/a", watcher: 1)
        manager.add(.child, path: "/a", watcher: 1)
        #expect(fire(&manager, "/a", .nodeDataChanged) == [1])
        #expect(manager.paths(of: 1) == [.child: ["/a"]])
        #expect(manager.dataTableByWatcher().isEmpty)
        // Many distinct one-shot watches fired over a connection's life stay bounded.
        for i in 0..<5000 {
            manager.add(.data, path: "/k\(i)", watcher: 2)
            _ = fire(&manager, "/k\(i)", .nodeDeleted)
        }
        manager.add(.data, path: "/live", watcher: 2)
        #expect(manager.paths(of: 2) == [.data: ["/live"]])
        manager.removeWatcher(2)
        #expect(manager.watchCount == 1)
    }

    @Test func closingAConnectionDropsItsWatches() {
        var manager = WatchManager()
        for watcher in 1...100 { manager.add(.data, path: "/hot", watcher: watcher) }
        manager.add(.persistentRecursive, path: "/", watcher: 5)
        manager.add(.child, path: "/x", watcher: 5)
        #expect(manager.watchCount == 102)
        manager.removeWatcher(5)
        #expect(manager.watchCount == 99)
        #expect(manager.paths(of: 5).isEmpty)
        #expect(fire(&manager, "/hot", .nodeDataChanged).count == 99)
        #expect(manager.dataTableByWatcher().isEmpty)
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
