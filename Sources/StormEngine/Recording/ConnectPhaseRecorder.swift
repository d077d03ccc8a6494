import NIOConcurrencyHelpers
import StormMetrics
import ZooKeeperClient

/// Histograms of how long each connect phase took, across every session of a run (first connects and
/// reconnects alike): TCP connect, TLS handshake, ConnectRequest→ConnectResponse, SASL, and the total.
package final class ConnectPhaseRecorder: Sendable {
    /// Phase names as they appear in results: `connect:<phase>` histograms and `connect_phases_us`.
    package static let phases = ["tcp", "tls", "handshake", "sasl", "total"]

    private let histograms = NIOLockedValueBox<[String: LatencyHistogram]>([:])

    package init() {}

    package func record(_ timings: ConnectPhaseTimings) {
        histograms.withLockedValue { h in
            h["tcp", default: LatencyHistogram()].record(nanoseconds: timings.tcpNanos)
            if let tls = timings.tlsNanos { h["tls", default: LatencyHistogram()].record(nanoseconds: tls) }
            h["handshake", default: LatencyHistogram()].record(nanoseconds: timings.handshakeNanos)
            if let sasl = timings.saslNanos { h["sasl", default: LatencyHistogram()].record(nanoseconds: sasl) }
            h["total", default: LatencyHistogram()].record(nanoseconds: timings.totalNanos)
        }
    }

    /// A copy of every phase's histogram recorded so far.
    package var snapshot: [String: LatencyHistogram] { histograms.withLockedValue { $0 } }
}
