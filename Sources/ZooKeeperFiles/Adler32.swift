import CZlib

/// Adler-32 as ZooKeeper computes it (`java.util.zip.Adler32`), through zlib's vectorised routine.
public struct Adler32: Sendable, Hashable {
    public private(set) var value: UInt32 = 1

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        var remaining = bytes.count
        var pointer = base.assumingMemoryBound(to: UInt8.self)
        var running = UInt(value)
        // zlib takes a uInt length: feed very large inputs in pieces.
        while remaining > 0 {
            let piece = min(remaining, 1 << 30)
            running = adler32(running, pointer, UInt32(piece))
            pointer += piece
            remaining -= piece
        }
        value = UInt32(truncatingIfNeeded: running)
    }

    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var a = Adler32()
        a.update(bytes)
        return a.value
    }
}
