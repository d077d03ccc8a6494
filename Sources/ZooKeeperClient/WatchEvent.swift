import NIOCore
import ZooKeeperProtocol

/// A watch notification, or a session state change (``type`` `.none`).
///
/// Watch notifications come from the server as a `WatcherEvent` with xid -1; session changes
/// (`.syncConnected`, `.disconnected`, `.expired`, `.closed`) are made by the client.
public struct WatchEvent: Sendable, Hashable, CustomStringConvertible {
    /// What happened to the node (`.nodeCreated`, `.nodeDataChanged`, ...), or `.none` for a session
    /// event.
    public var type: EventType
    /// The session's state when the event was made.
    public var state: KeeperState
    /// The node, chroot already stripped; empty for session events.
    public var path: String
    /// Monotonic nanoseconds (`NIODeadline.now().uptimeNanoseconds`) when the frame was decoded.
    public var receivedAt: UInt64

    /// An event, as the client makes them.
    ///
    /// - Parameters:
    ///   - type: What happened, or `.none` for a session event.
    ///   - state: The session's state.
    ///   - path: The node, chroot stripped.
    ///   - receivedAt: Monotonic nanoseconds when it arrived.
    public init(type: EventType, state: KeeperState, path: String, receivedAt: UInt64) {
        self.type = type
        self.state = state
        self.path = path
        self.receivedAt = receivedAt
    }

    /// The type, state and path.
    public var description: String { "\(type) \(state) \(path)" }
}

/// Watch and session events, back-pressured: when the consumer falls behind by the configured high
/// watermark the client stops reading from its socket until the consumer catches up. One consumer only.
public struct WatchEventSequence: AsyncSequence, Sendable {
    /// An event.
    public typealias Element = WatchEvent
    typealias Producer = NIOAsyncSequenceProducer<
        WatchEvent, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, EventBackPressure
    >

    let producer: Producer
    let backPressure: EventBackPressure

    /// Iterates the events; `nil` after the session closes or expires.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Producer.AsyncIterator

        /// The next event, waiting for it; nil once the session has ended.
        public mutating func next() async -> WatchEvent? {
            await base.next()
        }
    }

    /// The one iterator of this sequence; making it starts delivery to the sequence.
    public func makeAsyncIterator() -> AsyncIterator {
        backPressure.consumerAttached()
        return AsyncIterator(base: producer.makeAsyncIterator())
    }
}

/// Bridges the sequence's demand to the session: `produceMore` resumes socket reads.
final class EventBackPressure: NIOAsyncSequenceProducerDelegate {
    // Set once, before any event flows; read on the event loop. The session is Sendable.
    private let attached = ManagedAtomicBool()
    let onProduceMore: @Sendable () -> Void
    let onTerminate: @Sendable () -> Void

    init(onProduceMore: @escaping @Sendable () -> Void, onTerminate: @escaping @Sendable () -> Void) {
        self.onProduceMore = onProduceMore
        self.onTerminate = onTerminate
    }

    var isConsumerAttached: Bool { attached.load() }
    func consumerAttached() { attached.store(true) }
    func produceMore() { onProduceMore() }
    func didTerminate() { onTerminate() }
}
