import Foundation

/// Human-readable numbers for reports.
package enum ReportFormat {
    /// `850µs`, `1.25ms`, `2.40s` from microseconds.
    package static func latency(_ microseconds: UInt64) -> String {
        if microseconds < 1000 { return "\(microseconds)µs" }
        if microseconds < 1_000_000 { return String(format: "%.2fms", Double(microseconds) / 1000) }
        return String(format: "%.2fs", Double(microseconds) / 1_000_000)
    }

    package static func rate(_ value: Double) -> String {
        value >= 100 ? String(format: "%.0f", value) : String(format: "%.1f", value)
    }

    package static func pad(_ text: String, _ width: Int, right: Bool = true) -> String {
        let count = text.count
        guard count < width else { return text }
        let fill = String(repeating: " ", count: width - count)
        return right ? fill + text : text + fill
    }
}
