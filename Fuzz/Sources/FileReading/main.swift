import Foundation
import NIOCore
import ZooKeeperFiles

/// libFuzzer entry point for ZooKeeperFiles. Each input is read three ways: as a whole transaction log
/// (through a file, as `zkstorm txnlog inspect` reads one), as one log entry's payload, and as a
/// snapshot. Any outcome but a crash is fine: entries, a torn tail, or a `ZooKeeperFileError`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFileReading(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    let path = "/dev/shm/zkstorm-fuzz-\(getpid())"
    if FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)),
        let reader = try? TxnLogReader(path: path)
    {
        while (try? reader.next()) ?? nil != nil {}
    }
    _ = try? TxnLogEntry.decode(payload: bytes, offset: 0, size: size)
    _ = try? SnapshotReader.parse(bytes, path: "fuzz-input")
    return 0
}
