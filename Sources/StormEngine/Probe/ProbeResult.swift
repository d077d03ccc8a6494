/// What `zkstorm check` found for one feature of a target.
package struct ProbeResult: Codable, Sendable, Equatable {
    package enum Outcome: String, Codable, Sendable {
        case supported
        /// The target refused the request (the error says how).
        case unsupported
        /// The target answered, but not as ZooKeeper 3.8 does (the detail says what differed).
        case wrong
    }

    package var feature: String
    package var category: String
    /// Core features must work for `zkstorm check` to pass.
    package var core: Bool
    package var outcome: Outcome
    package var detail: String

    package init(feature: String, category: String, core: Bool, outcome: Outcome, detail: String) {
        self.feature = feature
        self.category = category
        self.core = core
        self.outcome = outcome
        self.detail = detail
    }
}
