import ZooKeeperProtocol

/// Which table a watch lives in.
enum WatchTable: Int, CaseIterable {
    /// One-shot data watch (getData) or exist watch (exists), fired by created/deleted/data changes.
    case data
    /// One-shot child watch (getChildren), fired by children changes and deletion.
    case child
    /// addWatch PERSISTENT: data and child events of one path, not removed when fired.
    case persistent
    /// addWatch PERSISTENT_RECURSIVE: every event but NodeChildrenChanged on the path and below.
    case persistentRecursive
}

/// Watches per path and per watcher (a connection id). One notification per watcher, path and event
/// however many kinds match (`WatchManager.triggerWatch`).
struct WatchManager {
    private var tables: [[String: Set<Int>]] = Array(repeating: [:], count: WatchTable.allCases.count)
    /// Reverse index for cleanup when a connection goes and for `wchc`.
    private var byWatcher: [Int: [WatchTable: Set<String>]] = [:]
    private var recursiveCount = 0

    func contains(_ kind: WatchTable, path: String, watcher: Int) -> Bool {
        tables[kind.rawValue][path]?.contains(watcher) ?? false
    }

    mutating func add(_ kind: WatchTable, path: String, watcher: Int) {
        let (inserted, _) = tables[kind.rawValue][path, default: []].insert(watcher)
        guard inserted else { return }
        let count = byWatcher[watcher, default: [:]][kind, default: []].insertCounting(path)
        if count >= 1024 && count & (count - 1) == 0 { pruneReverse(kind, watcher: watcher) }
        if kind == .persistentRecursive { recursiveCount += 1 }
    }

    /// The reverse index is cleaned lazily (firing 10,000 one-shot watches must not touch 10,000
    /// reverse entries); drop entries whose watch already fired once they pile up.
    private mutating func pruneReverse(_ kind: WatchTable, watcher: Int) {
        guard let paths = byWatcher[watcher]?[kind] else { return }
        byWatcher[watcher]![kind] = paths.filter { tables[kind.rawValue][$0]?.contains(watcher) ?? false }
    }

    /// Removes one watch; true if it was there.
    @discardableResult
    mutating func remove(_ kind: WatchTable, path: String, watcher: Int) -> Bool {
        guard tables[kind.rawValue][path]?.remove(watcher) != nil else { return false }
        if tables[kind.rawValue][path]!.isEmpty { tables[kind.rawValue][path] = nil }
        forgetReverse(kind, path: path, watcher: watcher)
        if kind == .persistentRecursive { recursiveCount -= 1 }
        return true
    }

    private mutating func forgetReverse(_ kind: WatchTable, path: String, watcher: Int) {
        byWatcher[watcher]?[kind]?.remove(path)
        if byWatcher[watcher]?[kind]?.isEmpty == true { byWatcher[watcher]![kind] = nil }
        if byWatcher[watcher]?.isEmpty == true { byWatcher[watcher] = nil }
    }

    /// Drops every watch of a watcher (its connection closed).
    mutating func removeWatcher(_ watcher: Int) {
        guard let kinds = byWatcher.removeValue(forKey: watcher) else { return }
        for (kind, paths) in kinds {
            for path in paths where tables[kind.rawValue][path]?.remove(watcher) != nil {
                if tables[kind.rawValue][path]!.isEmpty { tables[kind.rawValue][path] = nil }
                if kind == .persistentRecursive { recursiveCount -= 1 }
            }
        }
    }

    /// The kinds `checkWatches`/`removeWatches` with `type` look at (ZooKeeper keeps persistent
    /// watches in both its data and child tables, recursive ones in the data table only).
    static func kinds(for type: WatcherType) -> [WatchTable]? {
        switch type {
        case .children: [.child, .persistent]
        case .data: [.data, .persistent, .persistentRecursive]
        case .any: [.data, .child, .persistent, .persistentRecursive]
        case .persistent: [.persistent]
        case .persistentRecursive: [.persistentRecursive]
        default: nil
        }
    }

    /// Removes the watches of one event from the tables and calls `notify` once per watcher.
    mutating func trigger(path: String, type: EventType, notify: (Int) -> Void) {
        var oneShot: Set<Int>?
        var deletedChildWatchers: Set<Int>?
        switch type {
        case .nodeChildrenChanged:
            oneShot = tables[WatchTable.child.rawValue].removeValue(forKey: path)
        case .nodeDeleted:
            oneShot = tables[WatchTable.data.rawValue].removeValue(forKey: path)
            deletedChildWatchers = tables[WatchTable.child.rawValue].removeValue(forKey: path)
        default:
            oneShot = tables[WatchTable.data.rawValue].removeValue(forKey: path)
        }
        let persistent = tables[WatchTable.persistent.rawValue][path]
        var recursive: [Set<Int>] = []
        if recursiveCount > 0 && type != .nodeChildrenChanged {
            var current = path
            while true {
                if let s = tables[WatchTable.persistentRecursive.rawValue][current] { recursive.append(s) }
                if current == "/" { break }
                current = ZooKeeperPath.parent(of: current)
            }
        }
        if deletedChildWatchers == nil && persistent == nil && recursive.isEmpty {
            // The common case (one-shot watches only) needs no merging.
            if let oneShot { for watcher in oneShot { notify(watcher) } }
            return
        }
        let sources = [oneShot, deletedChildWatchers, persistent].compactMap { $0 } + recursive
        if sources.count == 1 {
            for watcher in sources[0] { notify(watcher) }
        } else if sources.count > 1 {
            var all = Set<Int>()
            for s in sources { all.formUnion(s) }
            for watcher in all { notify(watcher) }
        }
    }

    /// Number of watches as mntr's `zk_watch_count` counts them (data and child tables).
    var watchCount: Int {
        var count = 0
        for (index, table) in tables.enumerated() {
            let kind = WatchTable(rawValue: index)!
            let perPath = table.values.reduce(0) { $0 + $1.count }
            count += kind == .persistent ? perPath * 2 : perPath
        }
        return count
    }

    /// Paths per watcher in ZooKeeper's data table (data, exist, persistent and recursive watches),
    /// which is what `wchs`, `wchc` and `wchp` report.
    func dataTableByWatcher() -> [Int: Set<String>] {
        var out: [Int: Set<String>] = [:]
        for watcher in byWatcher.keys {
            let kinds = paths(of: watcher)
            var paths = Set<String>()
            for kind in [WatchTable.data, .persistent, .persistentRecursive] { paths.formUnion(kinds[kind] ?? []) }
            if !paths.isEmpty { out[watcher] = paths }
        }
        return out
    }

    /// The watches a watcher holds now (stale reverse entries of fired watches filtered out).
    func paths(of watcher: Int) -> [WatchTable: Set<String>] {
        var out: [WatchTable: Set<String>] = [:]
        for (kind, paths) in byWatcher[watcher] ?? [:] {
            let live = paths.filter { tables[kind.rawValue][$0]?.contains(watcher) ?? false }
            if !live.isEmpty { out[kind] = live }
        }
        return out
    }
}

extension Set {
    /// Inserts and returns the new count.
    fileprivate mutating func insertCounting(_ element: Element) -> Int {
        insert(element)
        return count
    }
}
