import Testing

/// The StormEngine unit suites nest inside this one. They touch no socket, process or clock bound, so
/// they run in parallel (the timing and server tests are in EngineIntegrationTests, one at a time).
@Suite enum EngineTests {}
