import Foundation

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

        /// Environment variables read by `fromEnvironment` (those an Indexed Job's pods get).
        public enum Variable {
            /// Set by Kubernetes in every pod of an Indexed Job: 0…completions-1.
            public static let index = "JOB_COMPLETION_INDEX"
            /// The number of shards (the Job's completions).
            public static let count = "ZKSTORM_SHARDS"
        }

        /// The shard named by `ZKSTORM_SHARDS` and `JOB_COMPLETION_INDEX`; nil when `ZKSTORM_SHARDS` is
        /// unset (a run of one process). Throws, naming the variable, for a value that is not a shard.
        public static func fromEnvironment(
            _ environment: [String: String] = ProcessInfo.processInfo.environment
        ) throws(PushConfigurationError) -> Shard? {
            func value(_ name: String) -> String? {
                guard let raw = environment[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else {
                    return nil
                }
                return raw
            }
            guard let countText = value(Variable.count) else { return nil }
            guard let count = Int(countText), count >= 1 else {
                throw PushConfigurationError(
                    setting: Variable.count,
                    message: "\"\(countText)\" is not a number of shards; give a whole number of at least 1"
                )
            }
            guard let indexText = value(Variable.index) else {
                throw PushConfigurationError(
                    setting: Variable.index,
                    message:
                        "\(Variable.count)=\(count) is set but \(Variable.index) is not; set it to this shard's index (0…\(count - 1))"
                )
            }
            guard let index = Int(indexText), (0..<count).contains(index) else {
                throw PushConfigurationError(
                    setting: Variable.index,
                    message: "\"\(indexText)\" is not a shard index of \(count) shards; give 0…\(count - 1)"
                )
            }
            return Shard(index: index, count: count)
        }
    }
}
