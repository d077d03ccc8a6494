#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every session is a socket: a run with thousands of sessions needs as many file descriptors. Raising
/// the soft limit to the hard one up front, or refusing with the numbers, beats failing half-way through
/// connecting with a message that looks like an unreachable server.
enum FileDescriptorLimit {
    /// Descriptors beyond the sessions: the built-in server's side of each connection is counted by
    /// the caller; this covers stdio, the event loops, log and result files.
    static let reserve = 64

    static func ensure(_ needed: Int) throws(RunError) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        if limit.rlim_cur >= rlim_t(needed) { return }
        if limit.rlim_max >= rlim_t(needed) || limit.rlim_max == rlim_t.max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max == rlim_t.max ? rlim_t(needed) : limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return }
        }
        throw RunError(
            .usage,
            "this run needs about \(needed) file descriptors (one per session) but the limit is \(limit.rlim_cur) (hard \(limit.rlim_max)); raise it with `ulimit -n \(needed)` or use fewer sessions"
        )
    }
}
