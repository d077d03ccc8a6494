import Foundation
import StormMetrics

/// The data of a run root: who owns it and since when. `zkstorm clean` reads it to tell the root of a
/// dead run from a live one (a live run's owner session still exists on the target).
public struct RunRootOwner: Codable, Sendable, Equatable {
    /// An ephemeral child of the root owned by the run's control session: while it exists the run is live.
    public static let liveNode = "owner"

    public var run: String
    /// The control session's id, hexadecimal as ZooKeeper's logs print it (`0x…`).
    public var session: String
    /// ISO 8601 UTC.
    public var started: String
    public var zkstorm: String

    public init(
        run: String,
        sessionId: Int64,
        started: Date = Date(),
        zkstorm: String = PrometheusExposition.zkstormVersion
    ) {
        self.run = run
        self.session = "0x" + String(UInt64(bitPattern: sessionId), radix: 16)
        self.started = RunResult.iso8601(started)
        self.zkstorm = zkstorm
    }

    public var sessionId: Int64? {
        guard session.hasPrefix("0x"), let value = UInt64(session.dropFirst(2), radix: 16) else { return nil }
        return Int64(bitPattern: value)
    }

    public var startedAt: Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: started)
    }

    public func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// nil for data that is not an owner record (a root from an older zkstorm, or not zkstorm's).
    public static func decode(_ data: [UInt8]) -> RunRootOwner? {
        try? JSONDecoder().decode(RunRootOwner.self, from: Data(data))
    }
}
