import Atomics
import NIOCore

/// Closed loop: each session keeps `concurrency × window` operations in flight and sends the next one
/// from the reply's callback on the event loop (no task per operation).
struct ClosedLoopDriver: Sendable {
    let workers: [SessionWorker]
    let slotsPerSession: Int
    let stop: StopFlag

    func start() {
        for worker in workers {
            for _ in 0..<slotsPerSession { worker.startClosedLoopSlot(stop: stop) }
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

    /// Runs the schedule from `origin` (the start of warm-up) until `end` (the end of measurement).
    func run(origin: UInt64, end: UInt64) async {
        let perSession = rate / Double(workers.count)
        await withTaskGroup(of: Void.self) { group in
            for (index, worker) in workers.enumerated() {
                let schedule = OpenLoopSchedule(
                    rate: perSession, arrivals: arrivals, origin: origin, seed: seed, stream: streamBase + UInt64(index)
                )
                let ticker = OpenLoopTicker(
                    pacer: OpenLoopPacer(schedule: schedule, maxInFlight: maxInFlight, end: end), stop: stop)
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
