/// Why a run could not start or finish, with the sysexits code the CLI exits with.
public struct RunError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The request itself is impossible (EX_USAGE).
        case usage
        /// The workload file is wrong (EX_DATAERR).
        case data
        /// A file named on the command line or in the workload cannot be read (EX_NOINPUT).
        case noInput
        /// The target cannot be reached (EX_UNAVAILABLE).
        case unavailable
        /// TLS or SASL refused us (EX_NOPERM).
        case noPermission
        /// Something broke inside zkstorm or the server misbehaved (EX_SOFTWARE).
        case `internal`
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    public var exitCode: Int32 {
        switch kind {
        case .usage: 64
        case .data: 65
        case .noInput: 66
        case .unavailable: 69
        case .noPermission: 77
        case .internal: 70
        }
    }
}
