/// A workload file that cannot be run: names the place (file:line:column), the field and what is allowed.
public struct WorkloadError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    /// Dotted path of the field, e.g. `groups[1].load.rate`; empty for the document itself.
    public var field: String
    public var message: String

    public init(file: String, line: Int, column: Int, field: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
    }

    public var description: String {
        // Line 0: the error is about the file or name as a whole (unreadable file, unknown preset).
        let place = line > 0 ? "\(file):\(line):\(column)" : file
        return field.isEmpty ? "\(place): \(message)" : "\(place): \(field): \(message)"
    }
}

/// Edit distance, for "did you mean" suggestions on misspelled field names and values.
enum Spelling {
    static func closest(to word: String, in candidates: [String]) -> String? {
        let lowered = word.lowercased()
        // An abbreviation ("zipf", "persist") is as good a hint as a typo.
        if lowered.count >= 3, let prefixed = candidates.first(where: { $0.lowercased().hasPrefix(lowered) }) {
            return prefixed
        }
        var best: (String, Int)?
        for candidate in candidates {
            let distance = editDistance(lowered, candidate.lowercased())
            if distance <= max(2, candidate.count / 3), distance < (best?.1 ?? Int.max) {
                best = (candidate, distance)
            }
        }
        return best?.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// ` (did you mean "x"?)` or empty.
    static func suggestion(for word: String, in candidates: [String]) -> String {
        guard let match = closest(to: word, in: candidates), match != word else { return "" }
        return " (did you mean \"\(match)\"?)"
    }
}
