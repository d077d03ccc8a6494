import Foundation

/// libFuzzer entry point for ZooKeeperFiles: each input goes through `FileReadingPath` (a symlink to
/// the file the in-suite FileFuzzTests drive), which reads it as a transaction log, a log entry's
/// payload, a snapshot (plain, gzip or snappy-java) and a raw Snappy block. Any outcome but a crash is fine.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFileReading(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var outcome = FileReadingPath.Outcome()
    FileReadingPath.check(
        Array(UnsafeBufferPointer(start: data, count: size)),
        scratch: "/dev/shm/zkstorm-fuzz-\(getpid())",
        outcome: &outcome
    )
    return 0
}
