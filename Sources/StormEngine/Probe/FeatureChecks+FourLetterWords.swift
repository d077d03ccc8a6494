import Foundation
import ZooKeeperClient
import ZooKeeperProtocol

/// The four-letter words, each sent on its own connection to the first server of the connect string.
extension FeatureChecks {
    /// A word, how to tell ZooKeeper's answer, and what that answer looks like (for the mismatch).
    struct FourLetterWordExpectation {
        var word: String
        var isValid: (String) -> Bool
        var expected: String
    }

    /// Every word `zkstorm check` sends, in order. `wchc` and `wchp` expect the watcher's watches.
    var fourLetterWords: [FourLetterWordExpectation] {
        let watched = watchDirectory + "/"
        return [
            .init(word: "ruok", isValid: { $0 == "imok" }, expected: "imok"),
            .init(
                word: "srvr",
                isValid: { $0.contains("Zookeeper version:") && $0.contains("Mode:") },
                expected: "Zookeeper version and Mode lines"
            ),
            .init(word: "stat", isValid: { $0.contains("Clients:") }, expected: "a Clients: section"),
            .init(
                word: "mntr",
                isValid: { $0.contains("zk_version\t") && $0.contains("zk_znode_count\t") },
                expected: "tab-separated zk_* lines"
            ),
            .init(word: "envi", isValid: { $0.contains("zookeeper.version=") }, expected: "zookeeper.version="),
            .init(
                word: "conf",
                isValid: { $0.contains("clientPort=") || $0.contains("dataDir=") },
                expected: "configuration lines"
            ),
            .init(word: "cons", isValid: { $0.contains("queued=") || $0.contains("(") }, expected: "connection lines"),
            .init(
                word: "wchs",
                isValid: { $0.contains("watching") || $0.contains("connections") },
                expected: "watch summary"
            ),
            .init(
                word: "wchc",
                isValid: { $0.contains(watched) },
                expected: "watched paths by session, including \(watched)…"
            ),
            .init(
                word: "wchp",
                isValid: { $0.contains(watched) },
                expected: "sessions by watched path, including \(watched)…"
            ),
            .init(word: "isro", isValid: { $0 == "rw" || $0 == "ro" }, expected: "rw or ro"),
        ]
    }

    /// Sends the word; its answer's first line is the detail. A word outside the server's
    /// `4lw.commands.whitelist` counts as unsupported.
    func fourLetterWord(_ expectation: FourLetterWordExpectation) async throws -> String {
        let answer = try await FourLetterWordClient.send(
            expectation.word,
            host: fourLetterWordServer.host,
            port: fourLetterWordServer.port,
            timeout: .seconds(3)
        )
        let trimmed = answer.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.contains("not in the whitelist") || trimmed.contains("not executed") {
            throw ZooKeeperError(code: .unimplemented, path: nil, message: trimmed)
        }
        guard expectation.isValid(trimmed) else {
            throw ProbeMismatch("expected \(expectation.expected), got \"\(trimmed.prefix(80))\"")
        }
        return String(trimmed.split(separator: "\n").first ?? "").trimmingCharacters(in: .whitespaces)
    }
}
