/// A path broke one of ZooKeeper's rules (`PathUtils.validatePath`); the server would answer BADARGUMENTS.
public struct InvalidPathError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var rule: String

    public init(path: String, rule: String) {
        self.path = path
        self.rule = rule
    }

    public var description: String { "invalid path \"\(path)\": \(rule)" }
}

public enum ZooKeeperPath {
    /// Checks `path` as the server would. `sequential` allows a trailing "/" (the server appends digits).
    ///
    /// Walks UTF-16 code units like Java does, so characters outside the Basic Multilingual Plane
    /// (emoji, for one) are refused: their surrogates fall in the forbidden U+D800...U+F8FF range.
    public static func validate(_ path: String, sequential: Bool = false) throws(InvalidPathError) {
        func fail(_ rule: String) -> InvalidPathError { InvalidPathError(path: path, rule: rule) }
        let checked = sequential ? path + "1" : path
        let units = Array(checked.utf16)
        let slash = UInt16(UInt8(ascii: "/"))
        let dot = UInt16(UInt8(ascii: "."))
        guard !units.isEmpty else { throw fail("path must not be empty") }
        guard units[0] == slash else { throw fail("path must start with /") }
        if units.count == 1 { return }
        guard units[units.count - 1] != slash else { throw fail("path must not end with /") }
        var previous = slash
        for i in 1..<units.count {
            let c = units[i]
            defer { previous = c }
            let after = i + 1 < units.count ? units[i + 1] : slash
            if c == 0 { throw fail("null character not allowed at \(i)") }
            if c == slash && previous == slash { throw fail("empty node name at \(i)") }
            if c == dot && previous == dot {
                if units[i - 2] == slash && after == slash { throw fail("relative path segment \"..\" at \(i - 1)") }
            } else if c == dot && previous == slash {
                if after == slash { throw fail("relative path segment \".\" at \(i)") }
            }
            if (c > 0x00 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || c >= 0xfff0 {
                throw fail("invalid character U+\(String(c, radix: 16, uppercase: true)) at \(i)")
            }
        }
    }

    /// The parent of an absolute path ("/" for top-level nodes).
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    /// The last segment of an absolute path.
    public static func name(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// Joins a parent path and a child name.
    public static func join(_ parent: String, _ child: String) -> String {
        parent == "/" ? "/" + child : parent + "/" + child
    }
}
