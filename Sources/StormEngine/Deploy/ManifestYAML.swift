import Foundation

/// A YAML value of a Kubernetes manifest, rendered the way `kubectl` users write them: block mappings,
/// two-space indentation, text in a literal block. Every string that YAML could read as something else
/// (a number, a boolean, null, a flow character) is double-quoted, so "3" stays a string.
package indirect enum ManifestYAML: Sendable, Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    /// Multi-line text (a file), as a literal block when YAML can keep it exactly, else double-quoted.
    case text(String)
    case map([(String, ManifestYAML)])
    case list([ManifestYAML])

    package static func == (lhs: ManifestYAML, rhs: ManifestYAML) -> Bool { lhs.render() == rhs.render() }

    /// The value as one YAML document's body (a mapping at the top), ending with a newline.
    package func render() -> String {
        var lines: [String] = []
        switch self {
        case .map(let pairs): Self.mapping(pairs, indent: 0, into: &lines)
        case .list(let items): Self.sequence(items, indent: 0, into: &lines)
        default: lines.append(Self.scalar(self) ?? "")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func mapping(_ pairs: [(String, ManifestYAML)], indent: Int, into lines: inout [String]) {
        let pad = String(repeating: " ", count: indent)
        for (key, value) in pairs {
            let head = pad + quoted(key) + ":"
            switch value {
            case .map(let inner) where !inner.isEmpty:
                lines.append(head)
                mapping(inner, indent: indent + 2, into: &lines)
            case .list(let items) where !items.isEmpty:
                lines.append(head)
                sequence(items, indent: indent + 2, into: &lines)
            case .text(let text):
                if let block = literalBlock(text, indent: indent + 2) {
                    lines.append(head + " " + block.header)
                    lines += block.lines
                } else {
                    lines.append(head + " " + doubleQuoted(text))
                }
            default:
                lines.append(head + " " + (scalar(value) ?? ""))
            }
        }
    }

    private static func sequence(_ items: [ManifestYAML], indent: Int, into lines: inout [String]) {
        let pad = String(repeating: " ", count: indent)
        for item in items {
            switch item {
            case .map(let pairs) where !pairs.isEmpty:
                var inner: [String] = []
                mapping(pairs, indent: indent + 2, into: &inner)
                lines.append(pad + "- " + inner[0].dropFirst(indent + 2))
                lines += inner.dropFirst()
            case .list(let nested) where !nested.isEmpty:
                lines.append(pad + "-")
                sequence(nested, indent: indent + 2, into: &lines)
            case .text(let text):
                lines.append(pad + "- " + doubleQuoted(text))
            default:
                lines.append(pad + "- " + (scalar(item) ?? ""))
            }
        }
    }

    /// A one-line rendering of a scalar or an empty collection; nil for anything else.
    private static func scalar(_ value: ManifestYAML) -> String? {
        switch value {
        case .string(let text): quoted(text)
        case .int(let number): String(number)
        case .bool(let flag): flag ? "true" : "false"
        case .text(let text): doubleQuoted(text)
        case .map(let pairs): pairs.isEmpty ? "{}" : nil
        case .list(let items): items.isEmpty ? "[]" : nil
        }
    }

    /// Words YAML 1.1 (which many Kubernetes tools still follow) reads as booleans or null.
    private static let reservedWords: Set<String> = [
        "y", "n", "yes", "no", "true", "false", "on", "off", "null", "~",
    ]

    /// Plain when it can only be read back as this string, else double-quoted.
    static func quoted(_ text: String) -> String {
        let plainCharacters = CharacterSet(
            charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./"
        )
        guard let first = text.unicodeScalars.first, CharacterSet.letters.contains(first) || first == "/",
            text.unicodeScalars.allSatisfy(plainCharacters.contains), !reservedWords.contains(text.lowercased())
        else { return doubleQuoted(text) }
        return text
    }

    /// A JSON string literal, which YAML reads as the same string.
    static func doubleQuoted(_ text: String) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes]),
            let array = String(data: data, encoding: .utf8)
        else { return "\"\"" }
        return String(array.dropFirst().dropLast())
    }

    /// `|`, `|-` or `|+` (with an indentation indicator when the text starts with a space) and the
    /// indented lines; nil when a literal block cannot hold the text exactly (control characters, CR,
    /// lines of only blanks, empty text).
    private static func literalBlock(_ text: String, indent: Int) -> (header: String, lines: [String])? {
        guard !text.isEmpty,
            !text.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || $0.value == 0x7f }),
            !text.hasPrefix("\n")
        else { return nil }
        var body = Substring(text)
        var trailingNewlines = 0
        while body.hasSuffix("\n") {
            body = body.dropLast()
            trailingNewlines += 1
        }
        let lines = body.split(separator: "\n", omittingEmptySubsequences: false)
        // A line of only spaces or tabs would be read back as an empty line or as indentation.
        guard !lines.contains(where: { !$0.isEmpty && $0.allSatisfy { $0 == " " || $0 == "\t" } }),
            lines.first?.first != "\t"
        else { return nil }
        let chomping = trailingNewlines == 0 ? "-" : (trailingNewlines == 1 ? "" : "+")
        let indicator = lines.first?.first == " " ? "2" : ""
        let pad = String(repeating: " ", count: indent)
        var rendered = lines.map { $0.isEmpty ? "" : pad + $0 }
        if trailingNewlines > 1 { rendered += Array(repeating: "", count: trailingNewlines - 1) }
        return ("|" + indicator + chomping, rendered)
    }
}
