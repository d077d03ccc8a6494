import NIOCore
import NIOEmbedded
import Testing

@testable import ZooKeeperClient

/// The shared per-loop timer behind every session's tick: each registration ticks once per interval,
/// registrations are spread over the interval's phases, and a cancelled one never ticks again.
@Suite("Session ticker")
struct SessionTickerTests {
    @Test func everyRegistrationTicksOncePerIntervalSpreadOverPhases() throws {
        let loop = EmbeddedEventLoop()
        defer { try? loop.syncShutdownGracefully() }
        let sessions = 25
        var ticks = Array(repeating: [UInt64](), count: sessions)
        var registrations: [SessionTicker.Registration] = []
        for index in 0..<sessions {
            registrations.append(
                SessionTicker.register(on: loop, every: .milliseconds(500)) {
                    ticks[index].append(loop.now.uptimeNanoseconds / 1_000_000)
                }
            )
        }
        loop.advanceTime(by: .milliseconds(2_000))
        for index in 0..<sessions {
            // Four intervals: four ticks each, 500 ms apart.
            #expect(ticks[index].count == 4, "session \(index): \(ticks[index])")
            let gaps = zip(ticks[index].dropFirst(), ticks[index]).map { $0 - $1 }
            #expect(gaps.allSatisfy { $0 == 500 }, "session \(index): \(ticks[index])")
        }
        // Consecutive registrations land in different phases of the interval.
        let firstTicks = Set(ticks.compactMap { $0.first.map { $0 % 500 } })
        #expect(firstTicks.count == SessionTicker.phases)
        for registration in registrations { registration.cancel() }
    }

    @Test func cancelledRegistrationStopsTickingAndTheOthersGoOn() throws {
        let loop = EmbeddedEventLoop()
        defer { try? loop.syncShutdownGracefully() }
        var kept = 0
        var cancelled = 0
        let keep = SessionTicker.register(on: loop, every: .milliseconds(100)) { kept += 1 }
        let drop = SessionTicker.register(on: loop, every: .milliseconds(100)) { cancelled += 1 }
        loop.advanceTime(by: .milliseconds(100))
        drop.cancel()
        drop.cancel()  // twice is harmless
        loop.advanceTime(by: .milliseconds(300))
        #expect(kept == 4)
        #expect(cancelled == 1)
        keep.cancel()
        loop.advanceTime(by: .milliseconds(300))
        #expect(kept == 4)
    }

    @Test func aTickMayCancelAnotherRegistrationOfItsOwnPhase() throws {
        let loop = EmbeddedEventLoop()
        defer { try? loop.syncShutdownGracefully() }
        var victimTicks = 0
        var registrations: [SessionTicker.Registration] = []
        // Registrations 0 and phases share a slot: the first cancels the second when it ticks.
        for index in 0...SessionTicker.phases {
            registrations.append(
                SessionTicker.register(on: loop, every: .milliseconds(100)) {
                    if index == 0 { registrations[SessionTicker.phases].cancel() }
                    if index == SessionTicker.phases { victimTicks += 1 }
                }
            )
        }
        loop.advanceTime(by: .milliseconds(300))
        // Which of the two runs first within the slot is unordered: the victim ticks at most once.
        #expect(victimTicks <= 1)
        for registration in registrations { registration.cancel() }
    }
}
