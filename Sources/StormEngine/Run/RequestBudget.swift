import Atomics

/// `--requests N`: exactly N operations are measured. Every send takes a ticket first; once the budget
/// is open each ticket is one of the N (or refused when they are spent, which stops the run). A reply to
/// an operation sent before the budget opened (warm-up) is not recorded once the measurement has begun,
/// so what the result counts is the N sent after the budget opened, each recorded when its reply (or
/// error) comes in.
final class RequestBudget: Sendable {
    /// What a send took from the budget.
    enum Ticket: Sendable {
        /// Sent before the budget opened: warm-up, not counted.
        case warmUp
        /// One of the N.
        case counted
        /// The budget is spent: send nothing.
        case spent
    }

    private let remaining: ManagedAtomic<Int>
    private let open = ManagedAtomic<Bool>(false)
    private let measuring = ManagedAtomic<Bool>(false)
    private let stop: StopFlag

    init(requests: Int, stop: StopFlag) {
        remaining = ManagedAtomic(requests)
        self.stop = stop
    }

    /// The measurement is about to begin (call before the collector drops the warm-up): replies to
    /// warm-up sends are no longer recorded from here on.
    func measurementBegins() { measuring.store(true, ordering: .sequentiallyConsistent) }

    /// Measurement began (call after the collector dropped the warm-up): from now on every send takes
    /// one of the N.
    func begin() { open.store(true, ordering: .sequentiallyConsistent) }

    /// Taken before each send.
    func take() -> Ticket {
        guard open.load(ordering: .sequentiallyConsistent) else { return .warmUp }
        let left = remaining.wrappingDecrementThenLoad(ordering: .relaxed)
        if left <= 0 { stop.set() }
        return left >= 0 ? .counted : .spent
    }

    /// Whether a reply to a send holding `ticket` is recorded.
    func records(_ ticket: Ticket) -> Bool {
        ticket != .warmUp || !measuring.load(ordering: .sequentiallyConsistent)
    }
}
