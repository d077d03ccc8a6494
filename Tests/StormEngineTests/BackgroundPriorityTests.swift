import Foundation
import Testing

@testable import StormEngine

/// The replay's feeder lowers its own thread's priority: the thread that asks gets nice +10, the
/// threads beside it (here the test's) keep theirs.
@Suite struct BackgroundPriorityTests {
    @Test func loweringTouchesTheCallingThreadAlone() async throws {
        #if os(Linux)
        let before = BackgroundPriority.currentThreadNice()
        let lowered: Int32 = await withCheckedContinuation { continuation in
            let thread = Thread {
                BackgroundPriority.lowerCurrentThread()
                continuation.resume(returning: BackgroundPriority.currentThreadNice())
            }
            thread.start()
        }
        #expect(lowered == max(before, BackgroundPriority.nice))
        #expect(BackgroundPriority.currentThreadNice() == before)
        #endif
    }
}
