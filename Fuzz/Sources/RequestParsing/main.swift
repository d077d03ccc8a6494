import NIOCore

/// libFuzzer entry point. Each input is fed twice: as a byte stream through ZooKeeperFrameDecoder
/// (length prefixes and all), and as one frame's payload, so mutations that break the length prefix
/// still reach the record decoders. A decode that does not survive re-encoding is a crash here, and
/// libFuzzer keeps the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestParsing(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    do {
        // The stream path decodes each frame under its own header's opcode; the payload path under all.
        _ = try ProtocolDecodePath.check(bytes, allOpCodes: false)
        var outcome = ProtocolDecodePath.Outcome()
        try ProtocolDecodePath.checkFrame(bytes, allOpCodes: true, outcome: &outcome)
    } catch {
        fatalError("\(error)")
    }
    return 0
}
