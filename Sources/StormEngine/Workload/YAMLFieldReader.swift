import Foundation
import Yams

/// Reads one YAML mapping field by field, remembering where each value was written so that every
/// error names file:line:column. Unknown and duplicate keys are refused when the reader is made.
struct YAMLFieldReader {
    let file: String
    /// Dotted path of this mapping (`keyspace`, `groups[0].load`); empty at the top.
    let field: String
    let node: Node
    private var values: [String: (key: Node, value: Node)] = [:]
    /// Keys in document order (Yams keeps the order of a mapping).
    private(set) var orderedKeys: [String] = []

    init(file: String, field: String, node: Node, allowed: [String]?) throws(WorkloadError) {
        self.file = file
        self.field = field
        self.node = node
        guard case .mapping(let mapping) = node else {
            throw Self.error(
                file: file,
                node: node,
                field: field,
                "expected a mapping of fields, found \(Self.describe(node))"
            )
        }
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                throw Self.error(file: file, node: keyNode, field: field, "field names must be plain words")
            }
            let path = Self.join(field, key)
            if values[key] != nil {
                throw Self.error(file: file, node: keyNode, field: path, "given twice; each field may appear once")
            }
            if let allowed, !allowed.contains(key) {
                let hint = Spelling.suggestion(for: key, in: allowed)
                throw Self.error(
                    file: file,
                    node: keyNode,
                    field: path,
                    "unknown field\(hint); allowed here: \(allowed.joined(separator: ", "))"
                )
            }
            values[key] = (keyNode, value)
            orderedKeys.append(key)
        }
    }

    static func join(_ parent: String, _ key: String) -> String { parent.isEmpty ? key : "\(parent).\(key)" }

    static func error(file: String, node: Node?, field: String, _ message: String) -> WorkloadError {
        let mark = node?.mark
        return WorkloadError(
            file: file,
            line: mark?.line ?? 1,
            column: mark?.column ?? 1,
            field: field,
            message: message
        )
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s): s.string.isEmpty ? "nothing" : "\"\(s.string)\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    func has(_ key: String) -> Bool { values[key] != nil }
    func value(_ key: String) -> Node? { values[key]?.value }
    func keyNode(_ key: String) -> Node? { values[key]?.key }
    func path(_ key: String) -> String { Self.join(field, key) }

    func error(_ key: String, _ message: String) -> WorkloadError {
        Self.error(file: file, node: values[key]?.value ?? node, field: path(key), message)
    }

    func error(atKey key: String, _ message: String) -> WorkloadError {
        Self.error(file: file, node: values[key]?.key ?? node, field: path(key), message)
    }

    private func scalar(_ key: String, expected: String) throws(WorkloadError) -> String? {
        guard let node = values[key]?.value else { return nil }
        guard let scalar = node.scalar else {
            throw error(key, "expected \(expected), found \(Self.describe(node))")
        }
        return scalar.string
    }

    func string(_ key: String) throws(WorkloadError) -> String? {
        try scalar(key, expected: "text")
    }

    func int(_ key: String, default fallback: Int, range: ClosedRange<Int>) throws(WorkloadError) -> Int {
        guard let text = try scalar(key, expected: "a whole number") else { return fallback }
        guard let value = Int(text.replacingOccurrences(of: "_", with: "")) else {
            throw error(key, "expected a whole number in \(range.lowerBound)...\(range.upperBound), found \"\(text)\"")
        }
        guard range.contains(value) else {
            throw error(key, "\(value) is out of range; allowed: \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    func double(
        _ key: String,
        default fallback: Double,
        range: ClosedRange<Double>,
        exclusiveLower: Bool = false
    ) throws(WorkloadError) -> Double {
        guard let text = try scalar(key, expected: "a number") else { return fallback }
        guard let value = Double(text.replacingOccurrences(of: "_", with: "")), value.isFinite else {
            throw error(key, "expected a number, found \"\(text)\"")
        }
        let lowerOK = exclusiveLower ? value > range.lowerBound : value >= range.lowerBound
        guard lowerOK, value <= range.upperBound else {
            let lower = exclusiveLower ? "more than \(range.lowerBound)" : "at least \(range.lowerBound)"
            throw error(key, "\(text) is out of range; allowed: \(lower) and at most \(range.upperBound)")
        }
        return value
    }

    func bool(_ key: String, default fallback: Bool) throws(WorkloadError) -> Bool {
        guard let text = try scalar(key, expected: "true or false") else { return fallback }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(key, "expected true or false, found \"\(text)\"")
        }
    }

    func choice<T: RawRepresentable & CaseIterable>(_ key: String, default fallback: T) throws(WorkloadError) -> T
    where T.RawValue == String {
        guard let text = try scalar(key, expected: "one of \(Self.names(T.self))") else { return fallback }
        return try Self.choice(text, file: file, node: values[key]?.value, field: path(key))
    }

    static func names<T: RawRepresentable & CaseIterable>(_ type: T.Type) -> String where T.RawValue == String {
        T.allCases.map(\.rawValue).joined(separator: ", ")
    }

    static func choice<T: RawRepresentable & CaseIterable>(
        _ text: String,
        file: String,
        node: Node?,
        field: String
    ) throws(WorkloadError) -> T
    where T.RawValue == String {
        if let value = T(rawValue: text) { return value }
        let all = T.allCases.map(\.rawValue)
        throw error(
            file: file,
            node: node,
            field: field,
            "unknown value \"\(text)\"\(Spelling.suggestion(for: text, in: all)); allowed: \(all.joined(separator: ", "))"
        )
    }

    func duration(
        _ key: String,
        default fallback: Duration,
        minimum: Duration = .zero
    ) throws(WorkloadError) -> Duration {
        guard let text = try scalar(key, expected: "a duration such as 30s, 500ms, 2m") else { return fallback }
        guard let value = DurationText.parse(text) else {
            throw error(key, "expected a duration such as 30s, 500ms, 2m or 1h, found \"\(text)\"")
        }
        guard value >= minimum else {
            throw error(key, "\(text) is too short; allowed: at least \(DurationText.format(minimum))")
        }
        return value
    }

    /// A byte count: `128`, `4KiB`, `1MiB`.
    func bytes(_ key: String, default fallback: Int, maximum: Int) throws(WorkloadError) -> Int {
        guard let text = try scalar(key, expected: "a size in bytes") else { return fallback }
        guard let value = ByteSizeText.parse(text) else {
            throw error(key, "expected a size in bytes such as 128, 4KiB or 1MiB, found \"\(text)\"")
        }
        guard value <= maximum else {
            throw error(
                key,
                "\(text) is over 1 MiB, ZooKeeper's largest znode value (jute.maxbuffer); allowed: 0...\(maximum)"
            )
        }
        return value
    }
}

/// `30s`, `500ms`, `2m`, `1h`, `250us`, or a plain number of seconds.
package enum DurationText {
    package static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [
            ("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9), ("s", 1), ("m", 60), ("h", 3600),
        ]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count)
            guard let value = Double(number), value >= 0, value.isFinite else { return nil }
            return .nanoseconds(Int64((value * scale * 1e9).rounded()))
        }
        guard let seconds = Double(trimmed), seconds >= 0, seconds.isFinite else { return nil }
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    package static func format(_ duration: Duration) -> String {
        let ns = duration.nanoseconds
        if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
        if ns % 1_000_000 == 0 { return "\(ns / 1_000_000)ms" }
        return "\(Double(ns) / 1e9)s"
    }
}

/// `128`, `4KiB`, `1MiB`, `1_000`: a byte count.
package enum ByteSizeText {
    /// The bytes `text` names, nil when it is not a size.
    package static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Int)] = [("KiB", 1024), ("MiB", 1_048_576), ("KB", 1000), ("MB", 1_000_000), ("B", 1)]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            guard let value = Int(trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), value >= 0
            else { return nil }
            return value.multipliedReportingOverflow(by: scale).overflow ? nil : value * scale
        }
        guard let value = Int(trimmed.replacingOccurrences(of: "_", with: "")), value >= 0 else { return nil }
        return value
    }
}

extension Duration {
    /// Whole nanoseconds (saturating at Int64).
    package var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return product &+ attoseconds / 1_000_000_000
    }

    package var seconds: Double { Double(nanoseconds) / 1e9 }
}
