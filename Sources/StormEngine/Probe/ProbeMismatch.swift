/// The answer differed from ZooKeeper's; `description` says what was expected and what came.
struct ProbeMismatch: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
