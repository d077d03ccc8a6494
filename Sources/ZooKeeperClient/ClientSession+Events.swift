import Atomics
import NIOCore
import ZooKeeperProtocol

// Event delivery of a `ClientSession`: watch and state events go to the callback set with
// `setEventHandler`, or else into the back-pressured `events` sequence, whose consumer pauses and
// resumes the connection's reads.
extension ClientSession {
    // MARK: Events

    func setEventHandler(_ handler: @escaping @Sendable (WatchEvent) -> Void) {
        eventLoop.assertInEventLoop()
        eventHandler = handler
        if readsPaused { eventConsumerWantsMore() }
    }

    func deliverState(_ state: KeeperState) {
        deliver(WatchEvent(type: .none, state: state, path: "", receivedAt: NIODeadline.now().uptimeNanoseconds))
    }

    func deliver(_ event: WatchEvent) {
        counters.events.wrappingIncrement(ordering: .relaxed)
        if let eventHandler {
            eventHandler(event)
            return
        }
        guard !sequenceTerminated else { return }
        let attached = events.backPressure.isConsumerAttached
        if !attached {
            unconsumedEvents += 1
            if unconsumedEvents > Self.unconsumedEventLimit { return }
        }
        switch eventSource.yield(event) {
        case .produceMore:
            break
        case .stopProducing:
            if attached && !readsPaused {
                readsPaused = true
                counters.readPauses.wrappingIncrement(ordering: .relaxed)
            }
        case .dropped:
            sequenceTerminated = true
        }
    }

    func eventConsumerWantsMore() {
        eventLoop.execute { [self] in
            guard readsPaused else { return }
            readsPaused = false
            if !readsStalled { handler?.resumeReads() }
        }
    }

    func eventConsumerTerminated() {
        eventLoop.execute { [self] in
            sequenceTerminated = true
            if readsPaused {
                readsPaused = false
                if !readsStalled { handler?.resumeReads() }
            }
        }
    }

    func setReadsStalled(_ stalled: Bool) {
        eventLoop.assertInEventLoop()
        readsStalled = stalled
        if !stalled && !readsPaused { handler?.resumeReads() }
    }
}

/// Breaks the cycle session → sequence → delegate → session.
final class WeakSessionBox: @unchecked Sendable {
    // Written once in ClientSession.init before the box is shared; read-only afterwards.
    weak var session: ClientSession?
}
