import Foundation
import StormEngine
import Testing
import ZooKeeperFiles

/// Damaged and foreign files: a clear error naming the file and the byte offset, never a crash.
@Suite struct HostileFileTests {
    func firstLog() -> String { FixtureFiles.names(prefix: "log.").first! }

    /// Offsets of the entries of the first fixture log.
    func entryOffsets() throws -> [(offset: Int64, size: Int)] {
        let reader = try TxnLogReader(path: FixtureFiles.path(firstLog()))
        var out: [(Int64, Int)] = []
        while let e = try reader.next() { out.append((e.offset, e.size)) }
        return out
    }

    func read(_ path: String) throws -> (entries: Int, end: TxnLogEnd) {
        let reader = try TxnLogReader(path: path)
        var n = 0
        while try reader.next() != nil { n += 1 }
        return (n, reader.end!)
    }

    @Test func truncatedLogIsATornTailAtTheCutEntry() throws {
        let dir = try FixtureFiles.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let offsets = try entryOffsets()
        let cut = offsets[3]
        let path = dir + "/log.1"
        try FixtureFiles.write(Array(try FixtureFiles.bytes(firstLog())[..<Int(cut.offset + 20)]), path)
        let (entries, end) = try read(path)
        #expect(entries == 3)
        guard case .torn(let offset, let reason, let skipped) = end else {
            Issue.record("expected a torn tail, got \(end)")
            return
        }
        #expect(offset == cut.offset)
        #expect(skipped == 20)
        #expect(reason.contains("past the end"))
    }

    @Test func bitFlipIsAChecksumMismatchAtThatEntry() throws {
        let dir = try FixtureFiles.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let offsets = try entryOffsets()
        var bytes = try FixtureFiles.bytes(firstLog())
        bytes[Int(offsets[2].offset) + 30] ^= 0x10
        let path = dir + "/log.1"
        try FixtureFiles.write(bytes, path)
        let (entries, end) = try read(path)
        #expect(entries == 2)
        guard case .torn(let offset, let reason, _) = end else {
            Issue.record("expected a torn tail, got \(end)")
            return
        }
        #expect(offset == offsets[2].offset)
        #expect(reason.contains("checksum mismatch"))
        // inspect reports it per file, with the offset, and keeps the entries before it.
        let r = try TxnLogInspector.inspect([path])
        #expect(r.entries == 2 && r.files[0].end == "torn" && r.files[0].endOffset == offsets[2].offset)
    }

    @Test func wrongMagicNamesFileAndOffset() throws {
        let dir = try FixtureFiles.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var bytes = try FixtureFiles.bytes(firstLog())
        bytes[0] = 0x00
        let path = dir + "/log.1"
        try FixtureFiles.write(bytes, path)
        let error = #expect(throws: ZooKeeperFileError.self) { try TxnLogReader(path: path) }
        #expect(error?.code == .badMagic)
        #expect(error?.description.hasPrefix("\(path): at byte 0: not a ZooKeeper transaction log") == true)
        // A snapshot is not a log either, and the other way round.
        let snapshot = FixtureFiles.path(FixtureFiles.names(prefix: "snapshot.").last!)
        #expect(throws: ZooKeeperFileError.self) { try TxnLogReader(path: snapshot) }
        let asSnapshot = #expect(throws: ZooKeeperFileError.self) {
            try SnapshotReader.read(path: FixtureFiles.path(firstLog()))
        }
        #expect(asSnapshot?.code == .badMagic)
    }

    @Test func snapshotCutMidNode() throws {
        let dir = try FixtureFiles.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let name = FixtureFiles.names(prefix: "snapshot.").last!
        let bytes = try FixtureFiles.bytes(name)
        for cut in stride(from: 1, to: bytes.count - 1, by: 97) {
            let path = dir + "/" + name
            try FixtureFiles.write(Array(bytes[..<cut]), path)
            let error = #expect(throws: ZooKeeperFileError.self) { try SnapshotReader.read(path: path) }
            #expect(error?.file == path)
            #expect((error?.offset ?? -1) >= 0 && (error?.offset ?? .max) <= Int64(cut))
        }
        let path = dir + "/" + name
        try FixtureFiles.write(Array(bytes[..<(bytes.count / 2)]), path)
        let error = #expect(throws: ZooKeeperFileError.self) { try SnapshotReader.read(path: path) }
        #expect(error?.code == .truncated)
        #expect(error?.description.contains("ends inside a record") == true)
    }

    @Test func snapshotBitFlipFailsTheSeal() throws {
        let dir = try FixtureFiles.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let name = FixtureFiles.names(prefix: "snapshot.").last!
        var bytes = try FixtureFiles.bytes(name)
        // Flip a bit inside a data byte ("x" values of /app/items), so the structure still parses.
        let index = bytes.firstIndex(of: UInt8(ascii: "x"))!
        bytes[index] ^= 0x01
        let path = dir + "/" + name
        try FixtureFiles.write(bytes, path)
        let error = #expect(throws: ZooKeeperFileError.self) { try SnapshotReader.read(path: path) }
        #expect(error?.code == .checksumMismatch)
    }

    @Test func sixtyFourMiBZeroPaddedLogEndsAtThePadding() throws {
        let dir = try FixtureFiles.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let offsets = try entryOffsets()
        let used = Int(offsets.last!.offset) + offsets.last!.size
        var bytes = Array(try FixtureFiles.bytes(firstLog())[..<used])
        bytes += [UInt8](repeating: 0, count: 64 << 20)
        let path = dir + "/log.1"
        try FixtureFiles.write(bytes, path)
        let started = ContinuousClock.now
        let (entries, end) = try read(path)
        #expect(entries == offsets.count)
        #expect(end == .zeroPadding(offset: Int64(used)))
        #expect(ContinuousClock.now - started < .seconds(5))
        // A log cut inside its padding (fewer than 12 zero bytes left) still ends cleanly.
        try FixtureFiles.write(Array(bytes[..<(used + 5)]), path)
        #expect(try read(path).end == .zeroPadding(offset: Int64(used)))
    }

    @Test func garbageNeverCrashes() throws {
        let dir = try FixtureFiles.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var generator = SystemRandomNumberGenerator()
        let log = try FixtureFiles.bytes(firstLog())
        let snapshot = try FixtureFiles.bytes(FixtureFiles.names(prefix: "snapshot.").last!)
        let path = dir + "/log.1"
        let garbage = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try FixtureFiles.write(garbage, path)
        #expect(throws: ZooKeeperFileError.self) { try TxnLogReader(path: path) }
        #expect(throws: ZooKeeperFileError.self) { try SnapshotReader.read(path: path) }
        // A valid header followed by garbage: a torn tail at byte 16, not a crash.
        try FixtureFiles.write(Array(log[..<16]) + garbage, path)
        guard case .torn(16, _, _) = try read(path).end else {
            Issue.record("garbage after the header should be a torn tail at byte 16")
            return
        }
        // Random byte mutations of real files: every outcome is entries, a torn tail or a thrown error.
        for round in 0..<300 {
            var bytes = round % 2 == 0 ? log : snapshot
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                bytes[Int.random(in: 0..<min(bytes.count, 2000), using: &generator)] = UInt8.random(
                    in: 0...255,
                    using: &generator
                )
            }
            try FixtureFiles.write(bytes, path)
            if let reader = try? TxnLogReader(path: path) {
                while (try? reader.next()) ?? nil != nil {}
            }
            _ = try? SnapshotReader.read(path: path)
        }
        let missing = #expect(throws: ZooKeeperFileError.self) { try TxnLogReader(path: dir + "/log.missing") }
        #expect(missing?.code == .unreadable)
        let snappy = #expect(throws: ZooKeeperFileError.self) {
            try SnapshotReader.read(path: dir + "/snapshot.5.snappy")
        }
        #expect(snappy?.code == .unreadable)
    }
}
