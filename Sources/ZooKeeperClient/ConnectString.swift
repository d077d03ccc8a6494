import ZooKeeperProtocol

/// One host of a connect string.
public struct HostPort: Hashable, Sendable, CustomStringConvertible {
    /// A host name or an address (IPv6 without brackets).
    public var host: String
    /// The client port.
    public var port: Int

    /// A host and port.
    ///
    /// - Parameters:
    ///   - host: A host name or an address (IPv6 without brackets).
    ///   - port: The client port.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with brackets around an IPv6 address.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A connect string that cannot be parsed: which part, and why.
public struct ConnectStringError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The whole connect string as given.
    public var connectString: String
    /// The part that is wrong.
    public var part: String
    /// Why, and what to write instead.
    public var reason: String

    /// The connect string, the part and the reason, with the expected form.
    public var description: String {
        "invalid connect string \"\(connectString)\": \(reason) in \"\(part)\"; expected host:port[,host:port...][/chroot]"
    }
}

/// A parsed connect string: `host[:port][,host[:port]...][/chroot]`, as the Java client reads it.
public struct ConnectString: Hashable, Sendable, CustomStringConvertible {
    /// The port of a host written without one.
    public static let defaultPort = 2181

    /// The hosts, in the order given; the client tries them shuffled.
    public var hosts: [HostPort]
    /// nil when absent or "/"; otherwise a valid absolute path without trailing "/".
    public var chroot: String?

    /// A connect string from its parts.
    ///
    /// - Parameters:
    ///   - hosts: The hosts, in the order given.
    ///   - chroot: The path every client path is relative to, or nil.
    public init(hosts: [HostPort], chroot: String? = nil) {
        self.hosts = hosts
        self.chroot = chroot
    }

    /// Parses `text`, e.g. `"h1:2181,[::1]:2182/app"`.
    ///
    /// - Parameter text: Hosts separated by commas, each with an optional `:port`, then an optional chroot.
    /// - Throws: ``ConnectStringError`` naming the part: no host, an empty entry or host name, a port that
    ///   is not 1–65535, an invalid chroot path.
    public init(parsing text: String) throws(ConnectStringError) {
        func fail(_ part: Substring, _ reason: String) -> ConnectStringError {
            ConnectStringError(connectString: text, part: String(part), reason: reason)
        }
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw fail(Substring(text), "no host given") }
        var hostPart = Substring(trimmed)
        var chroot: String?
        if let slash = trimmed.firstIndex(of: "/") {
            hostPart = trimmed[..<slash]
            let chrootText = String(trimmed[slash...])
            if chrootText != "/" {
                do {
                    try ZooKeeperPath.validate(chrootText)
                } catch {
                    throw fail(Substring(chrootText), "chroot is not a valid path (\(error.rule))")
                }
                chroot = chrootText
            }
        }
        var hosts: [HostPort] = []
        for entry in hostPart.split(separator: ",", omittingEmptySubsequences: false) {
            let entry = entry.trimmingWhitespaceSubstring()
            guard !entry.isEmpty else { throw fail(hostPart, "empty host entry") }
            hosts.append(try Self.parseHost(entry, fail: fail))
        }
        guard !hosts.isEmpty else { throw fail(Substring(text), "no host given") }
        self.hosts = hosts
        self.chroot = chroot
    }

    private static func parseHost(
        _ entry: Substring,
        fail: (Substring, String) -> ConnectStringError
    ) throws(ConnectStringError) -> HostPort {
        var host: Substring
        var portText: Substring?
        if entry.hasPrefix("[") {
            // Bracketed IPv6 literal: [::1]:2181
            guard let close = entry.firstIndex(of: "]") else { throw fail(entry, "unclosed \"[\"") }
            host = entry[entry.index(after: entry.startIndex)..<close]
            let rest = entry[entry.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw fail(entry, "expected \":port\" after \"]\"") }
                portText = rest.dropFirst()
            }
        } else {
            let colons = entry.filter { $0 == ":" }.count
            if colons == 1, let colon = entry.firstIndex(of: ":") {
                host = entry[..<colon]
                portText = entry[entry.index(after: colon)...]
            } else if colons == 0 {
                host = entry
            } else {
                throw fail(entry, "too many \":\" (write IPv6 addresses as [addr]:port)")
            }
        }
        guard !host.isEmpty else { throw fail(entry, "empty host name") }
        for c in host.unicodeScalars where c == " " || c.value < 0x20 {
            throw fail(entry, "host name contains a space or control character")
        }
        var port = defaultPort
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw fail(entry, "port \"\(portText)\" is not a number in 1...65535")
            }
            port = value
        }
        return HostPort(host: String(host), port: port)
    }

    /// The hosts joined by commas, then the chroot: a connect string that parses back to this one.
    public var description: String {
        hosts.map(\.description).joined(separator: ",") + (chroot ?? "")
    }

    /// The server's path for a client path: the chroot prepended (`/` maps to the chroot itself).
    ///
    /// - Parameter clientPath: A path as the caller names it.
    /// - Returns: The path the server sees.
    @inlinable
    public func serverPath(_ clientPath: String) -> String {
        guard let chroot else { return clientPath }
        return clientPath == "/" ? chroot : chroot + clientPath
    }

    /// The client's path for a server path: the chroot removed (the chroot itself maps to `/`).
    ///
    /// - Parameter serverPath: A path as the server names it.
    /// - Returns: The path the caller sees.
    @inlinable
    public func clientPath(_ serverPath: String) -> String {
        guard let chroot else { return serverPath }
        guard serverPath.hasPrefix(chroot) else { return serverPath }
        if serverPath.utf8.count == chroot.utf8.count { return "/" }
        let rest = serverPath.utf8.dropFirst(chroot.utf8.count)
        guard rest.first == UInt8(ascii: "/") else { return serverPath }
        return String(rest)!
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        String(Substring(self).trimmingWhitespaceSubstring())
    }
}

extension Substring {
    fileprivate func trimmingWhitespaceSubstring() -> Substring {
        var s = self
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return s
    }
}
