import Testing

/// Every StormEngine integration suite runs inside this one, one test at a time: the timing tests
/// (schedule accuracy, recording cost) must not share two cores with a JVM starting and other runs at once.
@Suite(.serialized)
enum EngineTests {}
