import Foundation

/// The values of a sweep: `1,2,5`, `from:to:step` (linear) or `from:to:xF` (each value F times the last,
/// for log-spaced points such as `100:10000:x10`).
public struct SweepValues: Sendable, Equatable {
    public var values: [Double]
    /// Multiplicative steps: charts put the parameter on a log axis.
    public var logSpaced: Bool

    /// More points than anyone means to wait for is a typo (a step of 1 instead of 100).
    public static let maximumCount = 200

    public init(values: [Double], logSpaced: Bool = false) {
        self.values = values
        self.logSpaced = logSpaced
    }

    public init(parsing text: String) throws(SweepError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        func number(_ token: Substring, _ what: String) throws(SweepError) -> Double {
            let cleaned = token.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
            guard let value = Double(cleaned), value.isFinite else {
                throw SweepError(
                    .usage,
                    "\"\(text)\": \(what) \"\(token)\" is not a number; give a list (1,2,5), a range FROM:TO:STEP (0:100:25) or FROM:TO:xFACTOR (100:10000:x10)"
                )
            }
            return value
        }
        if trimmed.contains(":") {
            let parts = trimmed.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 3 else {
                throw SweepError(
                    .usage,
                    "\"\(text)\": a range is FROM:TO:STEP (0:100:25) or FROM:TO:xFACTOR (100:10000:x10)"
                )
            }
            let from = try number(parts[0], "FROM")
            let to = try number(parts[1], "TO")
            guard to >= from else {
                throw SweepError(.usage, "\"\(text)\": TO (\(parts[1])) is below FROM (\(parts[0]))")
            }
            var values: [Double] = []
            if parts[2].hasPrefix("x") {
                let factor = try number(parts[2].dropFirst(), "FACTOR")
                guard factor > 1, from > 0 else {
                    throw SweepError(.usage, "\"\(text)\": xFACTOR needs a factor above 1 and FROM above 0")
                }
                var value = from
                // A tolerance for the last point, so 100:10000:x10 ends at 10000 despite rounding.
                while value <= to * (1 + 1e-9) {
                    values.append(value)
                    value *= factor
                    if values.count > Self.maximumCount { break }
                }
                self.logSpaced = true
            } else {
                let step = try number(parts[2], "STEP")
                guard step > 0 else { throw SweepError(.usage, "\"\(text)\": STEP must be above 0") }
                var index = 0.0
                while from + index * step <= to + step * 1e-9 {
                    values.append(from + index * step)
                    index += 1
                    if values.count > Self.maximumCount { break }
                }
                self.logSpaced = false
            }
            self.values = values
        } else {
            var values: [Double] = []
            for token in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
                values.append(try number(token, "value"))
            }
            self.values = values
            // A list such as 100,1000,10000 reads best on a log axis.
            let ratios = zip(values, values.dropFirst()).map { $0 > 0 ? $1 / $0 : 0 }
            self.logSpaced = values.count >= 3 && ratios.allSatisfy { $0 >= 2.5 }
        }
        guard !values.isEmpty else { throw SweepError(.usage, "\"\(text)\": no values") }
        guard values.count <= Self.maximumCount else {
            throw SweepError(.usage, "\"\(text)\" gives more than \(Self.maximumCount) points; use a larger step")
        }
    }
}

/// `--vary PARAM=VALUES`.
public struct SweepAxis: Sendable, Equatable {
    public var parameter: SweepParameter
    public var values: SweepValues

    public init(parameter: SweepParameter, values: SweepValues) {
        self.parameter = parameter
        self.values = values
    }

    public init(parsing text: String) throws(SweepError) {
        guard let equals = text.firstIndex(of: "=") else {
            throw SweepError(
                .usage,
                "--vary \(text): expected PARAM=VALUES, e.g. read-pct=0:100:25 (PARAM: \(SweepParameter.names.joined(separator: ", ")))"
            )
        }
        let name = String(text[..<equals])
        guard let parameter = SweepParameter(rawValue: name) else {
            let hint = SweepParameter.names.first { $0.hasPrefix(name.prefix(3)) }.map { "; did you mean \($0)?" } ?? ""
            throw SweepError(
                .usage,
                "--vary \(text): unknown parameter \"\(name)\"\(hint) (PARAM: \(SweepParameter.names.joined(separator: ", ")))"
            )
        }
        self.parameter = parameter
        self.values = try SweepValues(parsing: String(text[text.index(after: equals)...]))
    }
}
