import Atomics
import NIOConcurrencyHelpers
import NIOCore

/// Closed loop: each active session keeps `concurrency × window` operations in flight and sends the
/// next one from the reply's callback on the event loop (no task per operation). Stages change how
/// many of the sessions are active (`activate(_:)`); each activation has its own stop flag.
final class ClosedLoopDriver: Sendable {
    let workers: [SessionWorker]
    let slotsPerSession: Int
    let stop: StopFlag
    private let active: NIOLockedValueBox<[StopFlag?]>

    init(workers: [SessionWorker], slotsPerSession: Int, stop: StopFlag) {
        self.workers = workers
        self.slotsPerSession = slotsPerSession
        self.stop = stop
        active = NIOLockedValueBox(Array(repeating: nil, count: workers.count))
    }

    /// Starts every session, or the first `sessions` of them.
    func start(sessions: Int? = nil) {
        activate(sessions ?? workers.count)
    }

    /// Runs the first `count` sessions and stops the others (their in-flight operations complete).
    func activate(_ count: Int) {
        guard !stop.isSet else { return }
        var starting: [(SessionWorker, StopFlag)] = []
        active.withLockedValue { flags in
            for index in flags.indices {
                if index < count, flags[index] == nil {
                    let flag = StopFlag()
                    flags[index] = flag
                    starting.append((workers[index], flag))
                } else if index >= count, let flag = flags[index] {
                    flag.set()
                    flags[index] = nil
                }
            }
        }
        for (worker, flag) in starting {
            for _ in 0..<slotsPerSession { worker.startClosedLoopSlot(stop: flag) }
        }
    }

    /// The run is over: every session stops sending.
    func stopAll() {
        active.withLockedValue { flags in
            for index in flags.indices {
                flags[index]?.set()
                flags[index] = nil
            }
        }
    }
}

/// Open loop: one ticker per session sends at the group's intended start times (the group rate split
/// evenly over its sessions, each with its own seeded arrival stream).
struct OpenLoopDriver: Sendable {
    let workers: [SessionWorker]
    let rate: Double
    let arrivals: ArrivalProcess
    let maxInFlight: Int
    let seed: UInt64
    let streamBase: UInt64
    let stop: StopFlag
    /// Stages: rate factors from the measurement start; `stepsOrigin` = the warm-up's length (ns).
    var steps: [(offset: Double, factor: Double)] = []
    var stepsOrigin: Double = 0

    /// Runs the schedule from `origin` (the start of warm-up) until `end` (the end of measurement).
    func run(origin: UInt64, end: UInt64) async {
        let perSession = rate / Double(workers.count)
        await withTaskGroup(of: Void.self) { group in
            for (index, worker) in workers.enumerated() {
                let schedule = OpenLoopSchedule(
                    rate: perSession,
                    arrivals: arrivals,
                    origin: origin,
                    seed: seed,
                    stream: streamBase + UInt64(index),
                    steps: steps,
                    stepsOrigin: stepsOrigin
                )
                let ticker = OpenLoopTicker(
                    pacer: OpenLoopPacer(schedule: schedule, maxInFlight: maxInFlight, end: end),
                    stop: stop
                )
                group.addTask {
                    await ticker.run { intended, late, done in
                        if late { worker.recorder.recordLateStart() }
                        worker.issue(intended: intended, then: .callback(done))
                    }
                }
            }
        }
    }
}

extension Array where Element == SessionWorker {
    var outstanding: Int { reduce(0) { $0 + $1.outstanding.load(ordering: .relaxed) } }

    /// Waits (bounded) until every sent operation has been answered or has failed.
    func drain(timeout: Duration) async {
        let deadline = RunClock.now() + UInt64(timeout.nanoseconds)
        while outstanding > 0 && RunClock.now() < deadline {
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
    }
}
