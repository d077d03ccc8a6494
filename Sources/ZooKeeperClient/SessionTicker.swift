import NIOCore
import NIOPosix

/// The periodic work of every session on one event loop (request deadlines, pings, the read timeout),
/// driven by one timer per loop and interval instead of one repeated task per session.
///
/// A repeated task per session keeps N entries in the loop's scheduled-task heap and reschedules one on
/// every firing; with 2,000 storm watchers on one loop that upkeep (heap sifts, each copying and
/// retaining a task) took about a sixth of the watchers' loop's CPU, time that belongs to reading
/// notifications. Sessions are spread over `phases` slots, each ticked once per interval, so their
/// pings stay staggered rather than all leaving in one burst.
///
/// `@unchecked Sendable`: it lives on its event loop's thread, and every stored property is touched
/// only there (registration, cancellation and the timer all run on the loop; each asserts it).
final class SessionTicker: @unchecked Sendable {
    /// Slots per interval: the timer fires `phases` times per interval, each time ticking one slot.
    static let phases = 10

    private let loop: any EventLoop
    private let interval: TimeAmount
    private var slots: [[UInt64: () -> Void]]
    private var count = 0
    private var nextToken: UInt64 = 0
    private var nextSlot = 0
    /// The slot the timer ticks next.
    private var firingSlot = 0
    private var task: RepeatedTask?

    /// Undoes one registration; call it on the loop.
    struct Registration {
        fileprivate let ticker: SessionTicker
        fileprivate let slot: Int
        fileprivate let token: UInt64

        func cancel() { ticker.remove(self) }
    }

    private init(loop: any EventLoop, interval: TimeAmount) {
        self.loop = loop
        self.interval = interval
        self.slots = Array(repeating: [:], count: Self.phases)
    }

    /// Runs `tick` every `interval` on `loop` (the caller's own loop) until the registration is cancelled.
    static func register(
        on loop: any EventLoop,
        every interval: TimeAmount,
        _ tick: @escaping () -> Void
    ) -> Registration {
        loop.preconditionInEventLoop()
        let key = Key(loop: ObjectIdentifier(loop as AnyObject), interval: interval.nanoseconds)
        let registry = Registry.current
        let ticker: SessionTicker
        if let existing = registry.tickers[key] {
            ticker = existing
        } else {
            ticker = SessionTicker(loop: loop, interval: interval)
            registry.tickers[key] = ticker
        }
        return ticker.add(tick)
    }

    private func add(_ tick: @escaping () -> Void) -> Registration {
        let registration = Registration(ticker: self, slot: nextSlot, token: nextToken)
        nextSlot = (nextSlot + 1) % Self.phases
        nextToken &+= 1
        slots[registration.slot][registration.token] = tick
        count += 1
        if task == nil {
            let step = TimeAmount.nanoseconds(max(interval.nanoseconds / Int64(Self.phases), 1))
            task = loop.scheduleRepeatedTask(initialDelay: step, delay: step) { [self] _ in
                let slot = firingSlot
                firingSlot = (slot + 1) % Self.phases
                fire(slot: slot)
            }
        }
        return registration
    }

    private func remove(_ registration: Registration) {
        loop.preconditionInEventLoop()
        guard slots[registration.slot].removeValue(forKey: registration.token) != nil else { return }
        count -= 1
        if count == 0 {
            // An idle loop does not wake for nobody; the next session starts a new timer.
            task?.cancel()
            task = nil
            Registry.current.tickers[Key(loop: ObjectIdentifier(loop as AnyObject), interval: interval.nanoseconds)] =
                nil
        }
    }

    private func fire(slot: Int) {
        // A tick may close a session (a read timeout), which cancels its own or another's registration:
        // run each one still registered when its turn comes.
        for (token, tick) in slots[slot] where slots[slot][token] != nil {
            tick()
        }
    }

    private struct Key: Hashable {
        let loop: ObjectIdentifier
        let interval: Int64
    }

    /// The tickers of the loops on this thread (NIO runs one loop per thread; an embedded test loop
    /// shares the test's thread, so the loop is part of the key). `@unchecked Sendable`: each instance is
    /// reached only through its own thread's slot.
    private final class Registry: @unchecked Sendable {
        var tickers: [Key: SessionTicker] = [:]
        static let perThread = ThreadSpecificVariable<Registry>()

        static var current: Registry {
            if let existing = perThread.currentValue { return existing }
            let made = Registry()
            perThread.currentValue = made
            return made
        }
    }
}
