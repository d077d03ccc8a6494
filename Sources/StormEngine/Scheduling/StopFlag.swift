import Atomics

/// A flag that ends a run's loops early (Ctrl-C, SIGTERM, end of measurement).
public final class StopFlag: Sendable {
    private let flag = ManagedAtomic<Bool>(false)
    public init() {}
    public var isSet: Bool { flag.load(ordering: .acquiring) }
    public func set() { flag.store(true, ordering: .releasing) }
}
