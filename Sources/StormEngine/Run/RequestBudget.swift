import Atomics

/// `--requests N`: the measurement ends once N operations have been sent after it began; their replies
/// and those of the operations in flight at its start (at most sessions × in-flight window) are counted.
/// Warm-up operations do not count: the budget opens when measurement begins.
final class RequestBudget: Sendable {
    private let remaining: ManagedAtomic<Int>
    private let open = ManagedAtomic<Bool>(false)
    private let stop: StopFlag

    init(requests: Int, stop: StopFlag) {
        remaining = ManagedAtomic(requests)
        self.stop = stop
    }

    /// Measurement began: from now on every operation takes one request from the budget.
    func begin() { open.store(true, ordering: .releasing) }

    /// False when the budget is spent (the caller sends nothing); the last request ends the run.
    func take() -> Bool {
        guard open.load(ordering: .acquiring) else { return true }
        let left = remaining.wrappingDecrementThenLoad(ordering: .relaxed)
        if left <= 0 { stop.set() }
        return left >= 0
    }
}
