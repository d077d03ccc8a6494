import NIOConcurrencyHelpers
import ZooKeeperClient
import ZooKeeperProtocol

/// The node events the probe's watcher session receives, read from its back-pressured watch sequence.
/// A probe clears the log, acts, then waits for the events it expects; a waiter is woken by the event
/// that completes its count or by its timeout, with no polling.
final class ProbeEventLog: Sendable {
    private struct Waiter {
        var count: Int
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var events: [WatchEvent] = []
        var waiter: Waiter?
        /// The current wait's timeout passed before its waiter was in place.
        var expired = false
    }

    private let state = NIOLockedValueBox(State())

    /// Reads `events` until the sequence ends (the session closes) or the task is cancelled. Session
    /// state events (`type == .none`) are left out.
    func consume(_ events: WatchEventSequence) async {
        for await event in events where event.type != .none {
            let woken = state.withLockedValue { state -> CheckedContinuation<Bool, Never>? in
                state.events.append(event)
                guard let waiter = state.waiter, state.events.count >= waiter.count else { return nil }
                state.waiter = nil
                return waiter.continuation
            }
            woken?.resume(returning: true)
        }
    }

    func clear() { state.withLockedValue { $0.events.removeAll() } }

    /// "NodeDataChanged /path" for each event since the last `clear()`, in arrival order.
    var summaries: [String] { state.withLockedValue { $0.events.map { "\($0.type) \($0.path)" } } }

    /// Waits until `count` events arrived since the last `clear()` or `timeout` passed; true when they did.
    func wait(for count: Int, timeout: Duration) async -> Bool {
        state.withLockedValue { $0.expired = false }
        return await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.expire()
            }
            let arrived = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate = state.withLockedValue { state -> Bool? in
                    if state.events.count >= count { return true }
                    if state.expired { return false }
                    state.waiter = Waiter(count: count, continuation: continuation)
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
            group.cancelAll()
            return arrived
        }
    }

    /// The timeout (or the end of the wait, when its sleep is cancelled): wakes a waiter still waiting.
    private func expire() {
        let waiter = state.withLockedValue { state -> Waiter? in
            defer { state.waiter = nil }
            if state.waiter == nil { state.expired = true }
            return state.waiter
        }
        waiter?.continuation.resume(returning: false)
    }
}
