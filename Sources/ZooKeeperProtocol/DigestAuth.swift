import Crypto
import Foundation

/// ZooKeeper's `digest` scheme: `addauth digest user:password` authenticates as
/// `digest:user:base64(sha1("user:password"))`, the id a digest ACL names.
public enum DigestAuth {
    public static let scheme = "digest"

    /// The auth packet body: `user:password`.
    public static func credentials(user: String, password: String) -> [UInt8] {
        Array("\(user):\(password)".utf8)
    }

    /// The ACL id for `user` and `password`: `user:base64(sha1("user:password"))`.
    public static func identity(user: String, password: String) -> String {
        identity(credentials: credentials(user: user, password: password))
    }

    /// The ACL id for an auth packet body `user:password` (the user is everything before the first colon).
    public static func identity(credentials: [UInt8]) -> String {
        let user = credentials.firstIndex(of: UInt8(ascii: ":")).map { credentials[..<$0] } ?? credentials[...]
        let hash = Data(Insecure.SHA1.hash(data: credentials)).base64EncodedString()
        return String(decoding: user, as: UTF8.self) + ":" + hash
    }
}
