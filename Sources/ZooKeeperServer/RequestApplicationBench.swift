import ZooKeeperProtocol

/// Request application alone — the data tree, watch manager and session tracker, with no socket, lock
/// or clock — for the micro-benchmarks in Benchmarks/ (a package of its own, so it reaches this through
/// SPI rather than `@testable`). One session on one connection; every request is applied as the server
/// applies it, including the watch triggers it causes.
@_spi(Benchmarks)
public struct RequestApplicationBench {
    private var applier = RequestApplier(tickMs: 2_000, wallClockMs: 1_700_000_000_000, maxSessions: 16)
    private var triggers = WatchTriggers()
    private var auth = ConnectionAuth(remoteHost: "127.0.0.1")
    private let session: Int64
    private var time: Int64 = 1_700_000_000_000

    /// A tree holding `znodes` persistent znodes `/bench/n0`… of `valueSize` bytes, and one session.
    public init(znodes: Int, valueSize: Int) {
        let decision = applier.connect(ConnectRequest(timeOut: 30_000), connection: 1, now: 0) {
            Array(repeating: 7, count: 16)
        }
        guard case .accept(_, let session, _) = decision else {
            preconditionFailure("the bench session was not accepted: \(decision)")
        }
        self.session = session
        let value = [UInt8](repeating: 0x61, count: valueSize)
        _ = apply(.create(CreateRequest(path: "/bench", data: []), opCode: .create))
        for index in 0..<znodes {
            _ = apply(.create(CreateRequest(path: "/bench/n\(index)", data: value), opCode: .create))
        }
    }

    /// Applies one request; true when it succeeded. The watch notifications it caused are counted in
    /// `triggered` and dropped, as a server drops them once sent.
    public mutating func apply(_ request: ZooKeeperRequest) -> Bool {
        time += 1
        let outcome = applier.apply(
            request,
            session: session,
            watcher: 1,
            auth: &auth,
            time: time,
            triggers: &triggers
        )
        triggered += triggers.fired.count
        triggers.removeAll()
        return outcome.errorCode == .ok
    }

    /// Notifications caused so far.
    public private(set) var triggered = 0
}
