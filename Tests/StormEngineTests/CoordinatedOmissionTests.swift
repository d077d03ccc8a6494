import StormMetrics
import Testing
import ZooKeeperProtocol

@testable import StormEngine

extension EngineTests {
    @Suite("Coordinated-omission correction")
    struct CoordinatedOmissionTests {
        /// A server answering in 100 µs that stalls for 200 ms, driven by the open-loop pacer on a fake
        /// clock with one request in flight. The stall must show in intended-time latency (every start that
        /// came due during it waited) but only once in service time (the one request caught in it).
        @Test func stallShowsInIntendedTimeButNotInServiceTime() {
            let ms: UInt64 = 1_000_000
            let service: UInt64 = 100_000
            let stall = (500 * ms)..<(700 * ms)
            let schedule = OpenLoopSchedule(rate: 1000, arrivals: .constant, origin: 0, seed: 1, stream: 0)
            var pacer = OpenLoopPacer(schedule: schedule, maxInFlight: 1, end: 2000 * ms)
            let recorder = OperationRecorder()
            var now: UInt64 = 0
            var inFlight: (intended: UInt64, sent: UInt64, reply: UInt64)?
            var steps = 0
            while steps < 100_000 {
                steps += 1
                if let request = inFlight, request.reply <= now {
                    recorder.recordOpenLoop(
                        .get,
                        code: .ok,
                        intendedNanoseconds: request.reply - request.intended,
                        serviceNanoseconds: request.reply - request.sent
                    )
                    pacer.completed()
                    inFlight = nil
                }
                switch pacer.next(now: now) {
                case .send(let intended):
                    var reply = now + service
                    if stall.contains(now) || stall.contains(reply) { reply = stall.upperBound + service }
                    if pacer.lateStarts > 0 || now > intended { recorder.recordLateStart() }
                    inFlight = (intended, now, reply)
                case .sleep(let until):
                    now = min(until, inFlight?.reply ?? until)
                case .waitForCompletion:
                    now = inFlight!.reply
                case .finished:
                    if let request = inFlight { now = request.reply } else { steps = .max }
                }
            }
            var recorded = RecordedInterval()
            recorder.drain(into: &recorded)
            let intended = recorded.latency(of: .get)
            let serviceTime = recorded.serviceTime[.get]!
            // Nothing was omitted: every intended start was sent and timed.
            #expect(intended.count == 2000)
            #expect(serviceTime.count == 2000)
            // About 200 starts fell in the stall: they wait up to 200 ms from their intended time.
            #expect(intended.value(atPercentile: 95) > 50_000)
            #expect(intended.max >= 199_000)
            // Service time sees the stall once: its p99 is the server's normal 100 µs.
            #expect(serviceTime.value(atPercentile: 99) <= 101)
            #expect(serviceTime.max >= 199_000)
            #expect(serviceTime.count(atOrBelow: 101) == 1999)
            #expect(recorded.lateStarts > 150)
        }
    }
}
