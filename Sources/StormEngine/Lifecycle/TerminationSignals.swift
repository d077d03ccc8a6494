import Dispatch
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGINT and SIGTERM delivered as calls instead of killing the process, so a command can clean up and
/// report first; SIGPIPE ignored, so a closed pipe or socket is an error, not a death. The one
/// termination-signal type of `zkstorm run` and `zkstorm serve`.
package final class TerminationSignals {
    /// A termination signal that arrived.
    package struct Signal: Sendable, Hashable, CustomStringConvertible {
        package var number: Int32

        package init(number: Int32) {
            self.number = number
        }

        /// The sysexits convention for "killed by this signal": 128 + its number (130, 143).
        package var exitCode: Int32 { 128 + number }

        package var description: String {
            switch number {
            case SIGINT: "SIGINT"
            case SIGTERM: "SIGTERM"
            default: "signal \(number)"
            }
        }
    }

    private var sources: [any DispatchSourceSignal] = []

    /// Turns the default actions off once per process, before the first Dispatch source exists: Dispatch
    /// installs its own handler when a signal's first source starts, and a later `SIG_IGN` would
    /// replace that handler and silence every source of the signal.
    private static let defaultActionsOff: Void = {
        signal(SIGPIPE, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
    }()
    private let first = NIOLockedValueBox<(signal: Signal, at: DispatchTime)?>(nil)

    /// Starts catching SIGINT and SIGTERM. `onFirst` runs once, on a Dispatch queue, for the first of
    /// them. With `quitOnRepeatAfter`, a later one that comes more than that long after the first
    /// exits the process at once with its exit code; one sooner is the same keypress delivered twice (to
    /// the process and its group, as `timeout` does) and is ignored, as is every later one without it.
    package init(quitOnRepeatAfter repeatGrace: Duration? = nil, onFirst: @escaping @Sendable (Signal) -> Void) {
        _ = Self.defaultActionsOff
        let first = self.first
        for number in [SIGINT, SIGTERM] {
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let now = DispatchTime.now()
                let received = Signal(number: number)
                let earlier = first.withLockedValue { first -> DispatchTime? in
                    guard let first else {
                        first = (received, now)
                        return nil
                    }
                    return first.at
                }
                guard let earlier else {
                    onFirst(received)
                    return
                }
                if let repeatGrace,
                    Duration.nanoseconds(now.uptimeNanoseconds - earlier.uptimeNanoseconds) > repeatGrace
                {
                    exit(received.exitCode)
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The first signal that arrived, if any.
    package var received: Signal? { first.withLockedValue { $0?.signal } }

    /// Stops catching (the signals stay ignored: a late one must not kill a process that is finishing).
    package func cancel() {
        for source in sources { source.cancel() }
        sources.removeAll()
    }

    /// Suspends until SIGINT or SIGTERM arrives and returns it.
    package static func next() async -> Signal {
        let (stream, continuation) = AsyncStream.makeStream(of: Signal.self, bufferingPolicy: .bufferingNewest(1))
        let signals = TerminationSignals { continuation.yield($0) }
        var iterator = stream.makeAsyncIterator()
        let received = await iterator.next() ?? Signal(number: SIGTERM)
        signals.cancel()
        return received
    }
}
