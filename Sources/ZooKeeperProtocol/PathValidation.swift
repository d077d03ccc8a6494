/// A path broke one of ZooKeeper's rules (`PathUtils.validatePath`); the server would answer BADARGUMENTS.
public struct InvalidPathError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var rule: String

    public var description: String { "invalid path \"\(path)\": \(rule)" }
}

public enum ZooKeeperPath {
    /// Checks `path` as the server would. `sequential` allows a trailing "/" (the server appends digits).
    public static func validate(_ path: String, sequential: Bool = false) throws(InvalidPathError) {
        func fail(_ rule: String) -> InvalidPathError { InvalidPathError(path: path, rule: rule) }
        let checked = sequential ? path + "1" : path
        let bytes = Array(checked.unicodeScalars)
        guard !bytes.isEmpty else { throw fail("path must not be empty") }
        guard bytes[0] == "/" else { throw fail("path must start with /") }
        if bytes.count == 1 { return }
        guard bytes[bytes.count - 1] != "/" else { throw fail("path must not end with /") }
        var previous: Unicode.Scalar = "/"
        for (i, c) in bytes.enumerated() where i > 0 {
            if c == "\0" { throw fail("null character not allowed at \(i)") }
            if c == "/" && previous == "/" { throw fail("empty node name at \(i)") }
            if c == "." && previous == "." {
                let before = i >= 2 ? bytes[i - 2] : "/"
                let after: Unicode.Scalar = i + 1 < bytes.count ? bytes[i + 1] : "/"
                if before == "/" && after == "/" { throw fail("relative path segment \"..\" at \(i - 1)") }
            } else if c == "." && previous == "/" {
                let after: Unicode.Scalar = i + 1 < bytes.count ? bytes[i + 1] : "/"
                if after == "/" { throw fail("relative path segment \".\" at \(i)") }
            }
            let v = c.value
            if (v > 0x00 && v <= 0x1f) || (v >= 0x7f && v <= 0x9f) || (v >= 0xd800 && v <= 0xf8ff)
                || (v >= 0xfff0 && v <= 0xffff)
            {
                throw fail("invalid character U+\(String(v, radix: 16, uppercase: true)) at \(i)")
            }
            previous = c
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
