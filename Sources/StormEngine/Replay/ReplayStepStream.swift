import NIOConcurrencyHelpers
import ZooKeeperFiles

/// The steps of a plan read from log files, made as the files are read a second time: memory stays
/// within one read chunk and the steps not yet sent, however long the logs are.
///
/// The read stops at the plan's `scannedThroughZxid` (a live log may have grown since the plan was
/// made). A file that can no longer be read ends the stream; `problem` then says why.
struct ReplayStepStream: Sequence, IteratorProtocol {
    private var builder: ReplayPlan
    private let files: TxnLogFiles
    private let through: Int64
    private var buffered: [ReplayStep] = []
    private var position = 0
    private let failure = NIOLockedValueBox<String?>(nil)

    init(_ plan: ReplayPlan) {
        var builder = ReplayPlan(root: plan.root)
        builder.options = plan.options
        self.builder = builder
        files = TxnLogFiles(paths: plan.logFiles)
        through = plan.scannedThroughZxid ?? .max
    }

    /// Why the stream ended early, if it did.
    var problem: NIOLockedValueBox<String?> { failure }

    mutating func next() -> ReplayStep? {
        while position == buffered.count {
            buffered.removeAll(keepingCapacity: true)
            position = 0
            builder.steps.removeAll(keepingCapacity: true)
            let entry: TxnLogEntry?
            do {
                entry = try files.next()
            } catch {
                failure.withLockedValue { $0 = "the logs could not be read again during the replay: \(error)" }
                return nil
            }
            guard let entry, entry.header.zxid <= through else { return nil }
            builder.add(entry)
            swap(&buffered, &builder.steps)
        }
        defer { position += 1 }
        return buffered[position]
    }
}
