import Testing

/// Every StormEngine suite runs inside this one, one test at a time: the timing tests (schedule
/// accuracy, watch lag) must not share two cores with a JVM starting and other runs at once.
@Suite(.serialized)
enum EngineTests {}
