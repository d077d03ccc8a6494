import Foundation
import ZooKeeperClient

/// Drives a local quorum through the `scripts/ensemble` command (or any program with its verbs and
/// `status` output): `status` names each node's id, client port and mode; `kill|pause|resume|restart I`
/// act on node I. zkstorm runs it with the environment it was given (so `ZKSTORM_ENSEMBLE_DIR` and
/// `ZKSTORM_ENSEMBLE_BASE_PORT` reach it).
struct EnsembleControl: Sendable {
    /// The program: `ZKSTORM_ENSEMBLE_CONTROL`, else `scripts/ensemble` under the current directory.
    let command: String

    struct Member: Sendable, Equatable {
        var id: Int
        var port: Int
        /// leader, follower, standalone, down, starting.
        var mode: String
    }

    static func fromEnvironment() -> EnsembleControl {
        EnsembleControl(command: ProcessInfo.processInfo.environment["ZKSTORM_ENSEMBLE_CONTROL"] ?? "scripts/ensemble")
    }

    /// Checks the program runs and controls every host of `connectString` (by client port).
    func validate(connectString: String) async throws(RunError) {
        guard FileManager.default.isExecutableFile(atPath: command) else {
            throw RunError(
                .usage,
                "faults on \(connectString) need scripts/ensemble to act on its members, and \(command) is not an "
                    + "executable here: run zkstorm from the zkstorm checkout, or set ZKSTORM_ENSEMBLE_CONTROL to the script"
            )
        }
        let members = try await status()
        let hosts = ((try? ConnectString(parsing: connectString))?.hosts ?? []).map(\.port)
        let controlled = Set(members.map(\.port))
        let foreign = hosts.filter { !controlled.contains($0) }
        guard !members.isEmpty, foreign.isEmpty else {
            throw RunError(
                .usage,
                "faults need a target that \(command) controls: its status lists "
                    + (members.isEmpty
                        ? "no node" : members.map { "node \($0.id) on port \($0.port)" }.joined(separator: ", "))
                    + ", and the target has port\(foreign.count == 1 ? "" : "s") "
                    + foreign.map(String.init).joined(separator: ", ")
                    + " (ZKSTORM_ENSEMBLE_DIR names the ensemble's state directory)"
            )
        }
    }

    /// Every node as `status` prints it: `node I  pid P  127.0.0.1:PORT  MODE`.
    func status() async throws(RunError) -> [Member] {
        let output = try await run(["status"])
        return Self.parseStatus(output)
    }

    static func parseStatus(_ output: String) -> [Member] {
        output.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[0] == "node", let id = Int(fields[1]),
                let colon = fields[4].lastIndex(of: ":"), let port = Int(fields[4][fields[4].index(after: colon)...])
            else { return nil }
            return Member(id: id, port: port, mode: String(fields[5]))
        }
    }

    /// The nodes a fault means now: the leader, the follower with the lowest id, the id itself, or every
    /// node `status` lists.
    func resolveAll(_ member: FaultSpec.Member) async throws(RunError) -> [Int] {
        guard member == .all else { return [try await resolve(member)] }
        let ids = try await status().map(\.id).sorted()
        guard !ids.isEmpty else { throw RunError(.unavailable, "\(command) status lists no node to act on") }
        return ids
    }

    /// The node a fault means now: the leader, the follower with the lowest id, or the id itself
    /// (`all`: the lowest id; `resolveAll` gives every one).
    func resolve(_ member: FaultSpec.Member) async throws(RunError) -> Int {
        switch member {
        case .id(let id): return id
        case .all: return try await resolveAll(.all)[0]
        case .leader, .follower:
            let mode = member == .leader ? "leader" : "follower"
            let members = try await status()
            guard let node = members.filter({ $0.mode == mode }).map(\.id).min() else {
                throw RunError(
                    .unavailable,
                    "no \(mode) to act on: \(members.map { "node \($0.id) \($0.mode)" }.joined(separator: ", "))"
                )
            }
            return node
        }
    }

    /// `kill`, `pause`, `resume` or `restart` of node `id`.
    func act(_ verb: String, node id: Int) async throws(RunError) {
        _ = try await run([verb, String(id)])
    }

    private func run(_ arguments: [String]) async throws(RunError) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command)
        process.arguments = arguments
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("zkstorm-ensemble-\(UUID()).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        do {
            let handle = try FileHandle(forWritingTo: log)
            defer { try? handle.close() }
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
        } catch {
            throw RunError(.unavailable, "\(command) \(arguments.joined(separator: " ")) could not run: \(error)")
        }
        let status = await Self.exitStatus(of: process)
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw RunError(
                .unavailable,
                "\(command) \(arguments.joined(separator: " ")) failed (exit \(status)): "
                    + output.trimmingCharacters(in: .whitespacesAndNewlines)
            )
        }
        return output
    }

    /// Waits for `process` by its pid: a control script that starts servers leaves them running, and
    /// if they inherited a descriptor Foundation watches, Process would not report the script's exit.
    static func exitStatus(of process: Process) async -> Int32 {
        var status: Int32 = 0
        while true {
            let reaped = waitpid(process.processIdentifier, &status, WNOHANG)
            if reaped == process.processIdentifier {
                return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            }
            if reaped == -1 && !process.isRunning { return process.terminationStatus }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
    }
}
