import NIOConcurrencyHelpers
import NIOCore

/// Runs one session's open loop on the real clock: sleeps until the next intended start, sends every
/// start that is due (several per wake-up at high rates), and while the in-flight window is full polls
/// every 200 µs so backlogged starts go as soon as a reply frees a slot.
package final class OpenLoopTicker: Sendable {
    private let pacer: NIOLockedValueBox<OpenLoopPacer>
    private let stop: StopFlag

    package init(pacer: OpenLoopPacer, stop: StopFlag = StopFlag()) {
        self.pacer = NIOLockedValueBox(pacer)
        self.stop = stop
    }

    package var lateStarts: UInt64 { pacer.withLockedValue { $0.lateStarts } }
    package var started: UInt64 { pacer.withLockedValue { $0.started } }

    /// `issue(intended, late, done)` sends one request timed from `intended`; `late` says it went more
    /// than the pacer's threshold after its intended time; `done` must be called once when it completes.
    package func run(
        _ issue:
            @escaping @Sendable (_ intended: UInt64, _ late: Bool, _ done: @escaping @Sendable (_ sent: Bool) -> Void)
            -> Void
    ) async {
        let pacer = self.pacer
        let done: @Sendable (Bool) -> Void = { _ in pacer.withLockedValue { $0.completed() } }
        while !stop.isSet && !Task.isCancelled {
            let now = RunClock.now()
            let (action, threshold) = pacer.withLockedValue { ($0.next(now: now), $0.lateThresholdNanoseconds) }
            switch action {
            case .send(let intended):
                issue(intended, now &- intended > threshold, done)
            case .sleep(let until):
                try? await Task.sleep(nanoseconds: until - now)
            case .waitForCompletion:
                try? await Task.sleep(nanoseconds: 200_000)
            case .finished:
                return
            }
        }
    }
}
