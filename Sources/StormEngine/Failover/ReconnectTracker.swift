import NIOConcurrencyHelpers
import ZooKeeperProtocol

/// Connection state of one session as its state events arrive (on its event loop): turns
/// Disconnected → SyncConnected into a reconnect time and reports expiry.
final class ReconnectTracker: Sendable {
    private let disconnectedAt = NIOLockedValueBox<UInt64?>(nil)
    let accounting: FailoverAccounting

    init(accounting: FailoverAccounting) {
        self.accounting = accounting
    }

    func stateChanged(_ state: KeeperState, at time: UInt64) {
        switch state {
        case .disconnected:
            let first = disconnectedAt.withLockedValue { at -> Bool in
                defer { if at == nil { at = time } }
                return at == nil
            }
            if first { accounting.connectionLost() }
        case .syncConnected:
            if let lost = disconnectedAt.withLockedValue({ at -> UInt64? in
                defer { at = nil }
                return at
            }) {
                accounting.reconnected(afterNanoseconds: time > lost ? time - lost : 0)
            }
        case .expired:
            disconnectedAt.withLockedValue { $0 = nil }
            accounting.expired()
        default:
            break
        }
    }
}
