#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Lowers the scheduling priority of work that is ahead of its schedule (a replay's feeder), so that
/// on a machine with few cores it yields to what is due now: the pacers and the server they drive.
///
/// Lowering a priority needs no privilege. On Linux the nice value belongs to the thread, and
/// `setpriority(PRIO_PROCESS, 0, …)` changes the calling thread's alone (see setpriority(2), BUGS);
/// elsewhere nothing changes.
enum BackgroundPriority {
    /// Nice value for background threads: a tenth of a default thread's CPU weight under contention.
    static let nice: Int32 = 10

    /// Lowers the calling thread's priority; best effort (a failure leaves it as it was).
    static func lowerCurrentThread() {
        #if os(Linux)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice)
        #endif
    }

    /// The calling thread's nice value (Linux; 0 elsewhere).
    static func currentThreadNice() -> Int32 {
        #if os(Linux)
        errno = 0
        return getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        #else
        return 0
        #endif
    }
}
