import NIOCore
import ZooKeeperProtocol

/// A watch notification or a session state change (`type == .none`).
public struct WatchEvent: Sendable, Hashable, CustomStringConvertible {
    public var type: EventType
    public var state: KeeperState
    /// chroot already stripped; empty for session events.
    public var path: String
    /// Monotonic ns (`NIODeadline.now().uptimeNanoseconds`) when the frame was decoded.
    public var receivedAt: UInt64

    public init(type: EventType, state: KeeperState, path: String, receivedAt: UInt64) {
        self.type = type
        self.state = state
        self.path = path
        self.receivedAt = receivedAt
    }

    public var description: String { "\(type) \(state) \(path)" }
}

/// Watch and session events, back-pressured: when the consumer falls behind by the configured high
/// watermark the client stops reading from its socket until the consumer catches up. One consumer only.
public struct WatchEventSequence: AsyncSequence, Sendable {
    public typealias Element = WatchEvent
    typealias Producer = NIOAsyncSequenceProducer<
        WatchEvent, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, EventBackPressure
    >

    let producer: Producer
    let backPressure: EventBackPressure

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Producer.AsyncIterator

        public mutating func next() async -> WatchEvent? {
            await base.next()
        }
    }

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
