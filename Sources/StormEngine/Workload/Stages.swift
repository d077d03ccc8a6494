/// One step of a staged run (k6's stages): for `duration`, open loops send `rate` operations per second
/// in total (shared among open-loop groups in proportion to their own rates), closed loops run on
/// `sessions` of their sessions and the watch storm's rounds go to `watchers` of its watchers (the
/// others hold no watch). Stages follow each other from the start of measurement; the warm-up runs at
/// the first stage.
public struct Stage: Sendable, Equatable {
    public var duration: Duration
    /// Total open-loop rate during the stage; nil = the groups' own rates.
    public var rate: Double?
    /// Closed-loop sessions running during the stage; nil = all of them.
    public var sessions: Int?
    /// Watch-storm watchers holding a watch during the stage (the first ones); nil = all of them.
    public var watchers: Int?

    public init(duration: Duration, rate: Double? = nil, sessions: Int? = nil, watchers: Int? = nil) {
        self.duration = duration
        self.rate = rate
        self.sessions = sessions
        self.watchers = watchers
    }
}

/// Where each stage begins and what it asks, in nanoseconds from the start of measurement.
public struct StagePlan: Sendable, Equatable {
    public struct Step: Sendable, Equatable {
        public var start: UInt64
        public var stage: Stage
    }

    public var steps: [Step]

    public init(_ stages: [Stage]) {
        var start: UInt64 = 0
        steps = stages.map { stage in
            defer { start += UInt64(max(0, stage.duration.nanoseconds)) }
            return Step(start: start, stage: stage)
        }
    }

    public var totalDuration: Duration {
        .nanoseconds(Int64(steps.last.map { $0.start + UInt64($0.stage.duration.nanoseconds) } ?? 0))
    }

    /// The stage running `offset` ns after measurement began (the first one during warm-up).
    public func stage(at offset: Int64) -> Stage? {
        guard offset >= 0 else { return steps.first?.stage }
        return steps.last { $0.start <= UInt64(offset) }?.stage
    }

    /// Whether any stage sets the storm's watcher count.
    public var rampsWatchers: Bool { steps.contains { $0.stage.watchers != nil } }

    /// The watchers that hold a watch `offset` ns after measurement began, of `all` connected (a stage
    /// without `watchers`, or no stage at all, means every one).
    public func watchers(at offset: Int64, of all: Int) -> Int {
        min(all, stage(at: offset)?.watchers ?? all)
    }

    /// Open-loop rate factors for a group set whose own rates sum to `baseRate`: `(offset from the
    /// measurement start in ns, factor)`, one per stage; a stage without a rate keeps factor 1.
    public func rateSteps(baseRate: Double) -> [(offset: Double, factor: Double)] {
        steps.map { step in
            (offset: Double(step.start), factor: step.stage.rate.map { baseRate > 0 ? $0 / baseRate : 0 } ?? 1)
        }
    }
}
