import Foundation
import Testing

@testable import StormEngine

/// The one termination-signal type of `run` and `serve`, with signals raised in this process. (The
/// second-signal exit is covered end to end by FailoverTests' SignalExitTests, which run the binary.)
extension EngineTests {
    @Suite("Termination signals", .serialized)
    struct TerminationSignalsTests {
        /// Sends `number` to this process every 20 ms (at most 100 times) until cancelled: a source may
        /// be armed a moment after it was made, and until then the signal is ignored.
        static func keepRaising(_ number: Int32) async throws {
            for _ in 0..<100 {
                try await Task.sleep(for: .milliseconds(20))
                kill(getpid(), number)
            }
        }

        /// One test, so the default actions are put back only once, at the very end (no other test of
        /// this process makes a `TerminationSignals`).
        @Test func signalsArePassedOnInsteadOfEndingTheProcess() async throws {
            defer {
                signal(SIGINT, SIG_DFL)
                signal(SIGTERM, SIG_DFL)
            }
            let received = AsyncStream.makeStream(of: TerminationSignals.Signal.self)
            let signals = TerminationSignals { received.continuation.yield($0) }
            defer { signals.cancel() }
            #expect(signals.received == nil)
            var first: TerminationSignals.Signal?
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await Self.keepRaising(SIGTERM) }
                var iterator = received.stream.makeAsyncIterator()
                first = await iterator.next()
                group.cancelAll()
            }
            #expect(first == TerminationSignals.Signal(number: SIGTERM))
            #expect(first?.description == "SIGTERM")
            #expect(first?.exitCode == 143)
            #expect(signals.received == first)

            // `next()` waits for the next one; the first instance does not pass a second signal on.
            var next: TerminationSignals.Signal?
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await Self.keepRaising(SIGINT) }
                next = await TerminationSignals.next()
                group.cancelAll()
            }
            #expect(next?.description == "SIGINT")
            #expect(next?.exitCode == 130)
            #expect(signals.received?.description == "SIGTERM")
            received.continuation.finish()
            var rest = received.stream.makeAsyncIterator()
            #expect(await rest.next() == nil)
        }
    }
}
