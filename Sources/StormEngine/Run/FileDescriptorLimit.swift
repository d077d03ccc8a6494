import Foundation

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

    /// The most descriptors any process may have here (Linux `fs.nr_open`; 1,048,576 by default).
    static var systemMaximum: Int {
        if let text = try? String(contentsOfFile: "/proc/sys/fs/nr_open", encoding: .utf8),
            let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            return value
        }
        return 1_048_576
    }

    /// `sessions` sockets, each costing `perSession` descriptors (two when the built-in server holds the
    /// other end), plus `reserve`.
    static func ensure(sessions: Int, perSession: Int) throws(RunError) {
        let needed = sessions * perSession + reserve
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        if limit.rlim_cur >= rlim_t(needed) { return }
        let ceiling = systemMaximum
        if needed > ceiling {
            let most = max(0, (ceiling - reserve) / perSession)
            throw RunError(
                .usage,
                "this run needs about \(needed) file descriptors (\(sessions) sessions), more than this system allows any process (\(ceiling), fs.nr_open); use at most about \(most) sessions\(perSession > 1 ? " against the built-in server, which holds the other end of each, or more against an external --target" : "")"
            )
        }
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
