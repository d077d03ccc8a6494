import NIOCore

/// A record in ZooKeeper's jute serialisation: plain fields, big-endian, length-prefixed buffers.
public protocol JuteRecord: Sendable {
    init(from buffer: inout ByteBuffer) throws(JuteDecodingError)
    func encode(into buffer: inout ByteBuffer)
}

/// A record could not be read: the bytes ran out or a length was impossible.
public struct JuteDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        case truncated
        case negativeLength(Int32)
        case lengthExceedsFrame(Int32)
        case invalidUTF8
        case unknownOpCode(Int32)
        case malformed(String)
    }

    public var reason: Reason
    /// The field being read when decoding stopped.
    public var field: String

    public init(_ reason: Reason, field: String) {
        self.reason = reason
        self.field = field
    }

    public var description: String {
        switch reason {
        case .truncated: "truncated record while reading \(field)"
        case .negativeLength(let n): "invalid length \(n) for \(field)"
        case .lengthExceedsFrame(let n): "length \(n) for \(field) exceeds the frame"
        case .invalidUTF8: "\(field) is not valid UTF-8"
        case .unknownOpCode(let op): "unknown opcode \(op)"
        case .malformed(let what): "malformed \(field): \(what)"
        }
    }
}

extension ByteBuffer {
    @inlinable
    public mutating func writeJuteInt(_ value: Int32) {
        writeInteger(value, endianness: .big)
    }

    @inlinable
    public mutating func writeJuteLong(_ value: Int64) {
        writeInteger(value, endianness: .big)
    }

    @inlinable
    public mutating func writeJuteBool(_ value: Bool) {
        writeInteger(value ? UInt8(1) : UInt8(0))
    }

    /// `buffer`: int32 length then bytes; nil is written as length -1.
    @inlinable
    public mutating func writeJuteBuffer(_ bytes: [UInt8]?) {
        guard let bytes else {
            writeJuteInt(-1)
            return
        }
        writeJuteInt(Int32(bytes.count))
        writeBytes(bytes)
    }

    @inlinable
    public mutating func writeJuteBuffer(_ bytes: ByteBuffer?) {
        guard var bytes else {
            writeJuteInt(-1)
            return
        }
        writeJuteInt(Int32(bytes.readableBytes))
        writeBuffer(&bytes)
    }

    /// `ustring`: int32 byte length then UTF-8; nil is written as length -1.
    @inlinable
    public mutating func writeJuteString(_ string: String?) {
        guard let string else {
            writeJuteInt(-1)
            return
        }
        let lengthIndex = writerIndex
        writeJuteInt(0)
        let written = writeString(string)
        setInteger(Int32(written), at: lengthIndex, endianness: .big)
    }

    @inlinable
    public mutating func writeJuteStringVector(_ strings: [String]?) {
        guard let strings else {
            writeJuteInt(-1)
            return
        }
        writeJuteInt(Int32(strings.count))
        for s in strings { writeJuteString(s) }
    }

    @inlinable
    public mutating func readJuteInt(_ field: String) throws(JuteDecodingError) -> Int32 {
        guard let v = readInteger(endianness: .big, as: Int32.self) else {
            throw JuteDecodingError(.truncated, field: field)
        }
        return v
    }

    @inlinable
    public mutating func readJuteLong(_ field: String) throws(JuteDecodingError) -> Int64 {
        guard let v = readInteger(endianness: .big, as: Int64.self) else {
            throw JuteDecodingError(.truncated, field: field)
        }
        return v
    }

    @inlinable
    public mutating func readJuteBool(_ field: String) throws(JuteDecodingError) -> Bool {
        guard let v = readInteger(as: UInt8.self) else {
            throw JuteDecodingError(.truncated, field: field)
        }
        return v != 0
    }

    @inlinable
    mutating func readJuteLength(_ field: String) throws(JuteDecodingError) -> Int? {
        let n = try readJuteInt(field)
        if n == -1 { return nil }
        if n < 0 { throw JuteDecodingError(.negativeLength(n), field: field) }
        if Int(n) > readableBytes { throw JuteDecodingError(.lengthExceedsFrame(n), field: field) }
        return Int(n)
    }

    @inlinable
    public mutating func readJuteBuffer(_ field: String) throws(JuteDecodingError) -> [UInt8]? {
        guard let n = try readJuteLength(field) else { return nil }
        return readBytes(length: n)!
    }

    /// Reads a `buffer` field as a slice sharing storage with this buffer (no copy).
    @inlinable
    public mutating func readJuteBufferSlice(_ field: String) throws(JuteDecodingError) -> ByteBuffer? {
        guard let n = try readJuteLength(field) else { return nil }
        return readSlice(length: n)!
    }

    @inlinable
    public mutating func readJuteString(_ field: String) throws(JuteDecodingError) -> String? {
        guard let n = try readJuteLength(field) else { return nil }
        // Java's jute decodes with replacement for bad UTF-8; so do we.
        return readString(length: n)!
    }

    /// A string field that must not be null (paths, schemes); null reads as "".
    @inlinable
    public mutating func readJuteNonNullString(_ field: String) throws(JuteDecodingError) -> String {
        try readJuteString(field) ?? ""
    }

    @inlinable
    public mutating func readJuteStringVector(_ field: String) throws(JuteDecodingError) -> [String]? {
        let count = try readJuteInt(field)
        if count == -1 { return nil }
        if count < 0 { throw JuteDecodingError(.negativeLength(count), field: field) }
        // Every string takes at least four bytes: refuse counts the frame cannot hold before allocating.
        if Int(count) > readableBytes / 4 { throw JuteDecodingError(.lengthExceedsFrame(count), field: field) }
        var out: [String] = []
        out.reserveCapacity(Int(count))
        for _ in 0..<count {
            out.append(try readJuteNonNullString(field))
        }
        return out
    }

    @inlinable
    public mutating func writeJuteRecordVector<R: JuteRecord>(_ records: [R]?) {
        guard let records else {
            writeJuteInt(-1)
            return
        }
        writeJuteInt(Int32(records.count))
        for r in records { r.encode(into: &self) }
    }

    @inlinable
    public mutating func readJuteRecordVector<R: JuteRecord>(
        _ type: R.Type,
        _ field: String,
        minimumRecordSize: Int
    ) throws(JuteDecodingError) -> [R]? {
        let count = try readJuteInt(field)
        if count == -1 { return nil }
        if count < 0 { throw JuteDecodingError(.negativeLength(count), field: field) }
        if Int(count) > readableBytes / max(minimumRecordSize, 1) {
            throw JuteDecodingError(.lengthExceedsFrame(count), field: field)
        }
        var out: [R] = []
        out.reserveCapacity(Int(count))
        for _ in 0..<count { out.append(try R(from: &self)) }
        return out
    }
}

extension JuteRecord {
    /// Serialises the record alone (no frame length) into a new buffer.
    public func encodedBytes(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64)
        encode(into: &buffer)
        return buffer
    }
}
