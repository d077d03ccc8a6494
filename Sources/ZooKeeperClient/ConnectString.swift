import ZooKeeperProtocol

/// One server of a connect string.
public struct HostPort: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A connect string that could not be parsed; `part` is the offending piece.
public struct ConnectStringError: Error, Sendable, Hashable, CustomStringConvertible {
    public var connectString: String
    public var part: String
    public var reason: String

    public var description: String {
        "invalid connect string \"\(connectString)\": \(reason) in \"\(part)\"; expected host:port[,host:port...][/chroot]"
    }
}

/// `h1:2181,h2:2181/app`: servers (port defaults to 2181) and an optional chroot.
public struct ConnectString: Hashable, Sendable, CustomStringConvertible {
    public static let defaultPort = 2181

    public var hosts: [HostPort]
    /// nil when absent or "/"; otherwise a valid absolute path without trailing "/".
    public var chroot: String?

    public init(hosts: [HostPort], chroot: String? = nil) {
        self.hosts = hosts
        self.chroot = chroot
    }

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
        _ entry: Substring, fail: (Substring, String) -> ConnectStringError
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

    public var description: String {
        hosts.map(\.description).joined(separator: ",") + (chroot ?? "")
    }

    /// Prepends the chroot to a client path.
    @inlinable
    public func serverPath(_ clientPath: String) -> String {
        guard let chroot else { return clientPath }
        return clientPath == "/" ? chroot : chroot + clientPath
    }

    /// Removes the chroot from a server path (paths outside the chroot are returned unchanged).
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
