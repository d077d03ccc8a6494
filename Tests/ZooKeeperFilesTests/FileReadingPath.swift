import Foundation
import NIOCore
import ZooKeeperFiles

/// What the file readers do with one fuzz input, shared by the libFuzzer harness
/// (Fuzz/Sources/FileReading, which holds a symlink to this file) and the bounded in-suite slice
/// (FileFuzzTests). The input is read as a whole transaction log (through a file, as
/// `zkstorm txnlog inspect` reads one), as one log entry's payload, as a snapshot file (plain, gzip or
/// snappy-java, told apart by its first bytes) and as one raw Snappy block. Any outcome but a crash is
/// fine: entries, a torn tail or a `ZooKeeperFileError`.
enum FileReadingPath {
    /// How the input fared; the in-suite slice checks that mutations reach every reader.
    struct Outcome {
        var logEntries = 0
        var snapshots = 0
        var snappyBlocks = 0
        var errors: [ZooKeeperFileError.Code: Int] = [:]
    }

    /// `scratch`: a file path the log reader may overwrite.
    static func check(_ input: [UInt8], scratch: String, outcome: inout Outcome) {
        let bytes = ByteBuffer(bytes: input)
        if FileManager.default.createFile(atPath: scratch, contents: Data(input)) {
            do {
                let reader = try TxnLogReader(path: scratch)
                while try reader.next() != nil { outcome.logEntries += 1 }
            } catch {
                outcome.errors[error.code, default: 0] += 1
            }
        }
        _ = try? TxnLogEntry.decode(payload: bytes, offset: 0, size: input.count)
        do {
            _ = try SnapshotReader.decode(bytes, path: "fuzz-input")
            outcome.snapshots += 1
        } catch {
            outcome.errors[error.code, default: 0] += 1
        }
        // A raw block at most 1 MiB out, so a fuzzed length field cannot make the harness slow.
        if (try? SnappyBlock.decompress(input, limit: 1 << 20)) != nil { outcome.snappyBlocks += 1 }
    }
}
