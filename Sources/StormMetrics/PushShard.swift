extension PushConfiguration {
    /// Which shard of a run pushes: the `shard` and `shards` labels of its group on the gateway.
    public struct Shard: Sendable, Equatable {
        /// 0-based index of this shard.
        public var index: Int
        /// How many shards the run has.
        public var count: Int

        public init(index: Int, count: Int) {
            self.index = index
            self.count = count
        }
    }
}
