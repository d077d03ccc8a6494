import NIOConcurrencyHelpers
import ZooKeeperClient

/// How the run's sessions restored their watches after reconnects: setWatches2 requests sent (the
/// client splits them to fit the server's `jute.maxbuffer`, ZOOKEEPER-706) and watches the servers
/// confirmed, over every client of the run. Open clients are read when asked; a closed one's figures
/// are kept when it closes, so replaced (expired) and churned sessions count too.
final class WatchRestoreTally: Sendable {
    struct Figures: Sendable, Equatable {
        var batches: UInt64 = 0
        var watches: UInt64 = 0
    }

    private struct State {
        var open: [ObjectIdentifier: ZooKeeperClient] = [:]
        var closed = Figures()
    }

    private let state = NIOLockedValueBox(State())

    func opened(_ client: ZooKeeperClient) {
        state.withLockedValue { $0.open[ObjectIdentifier(client)] = client }
    }

    /// Keeps the figures of `client`, which the run closes now.
    func closing(_ client: ZooKeeperClient) {
        let stats = client.stats
        state.withLockedValue { state in
            guard state.open.removeValue(forKey: ObjectIdentifier(client)) != nil else { return }
            state.closed.batches += UInt64(stats.setWatchesBatchesSent)
            state.closed.watches += UInt64(stats.watchesRestored)
        }
    }

    /// Every client's figures so far, open and closed.
    var figures: Figures {
        let (open, closed) = state.withLockedValue { (Array($0.open.values), $0.closed) }
        var total = closed
        for client in open {
            let stats = client.stats
            total.batches += UInt64(stats.setWatchesBatchesSent)
            total.watches += UInt64(stats.watchesRestored)
        }
        return total
    }
}
