/// Where a JSON text stops being JSON, for a message a person can act on ("ends at byte 4096 inside an
/// object: truncated?") instead of Foundation's "The given data was not valid JSON.".
package enum JSONSyntax {
    package static func problem(in bytes: [UInt8]) -> String {
        var stack: [UInt8] = []
        var inString = false
        var escaped = false
        var line = 1
        var column = 0
        var lastSignificant = -1
        for (offset, byte) in bytes.enumerated() {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 0
            } else {
                column += 1
            }
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): stack.append(byte)
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                let opener = byte == UInt8(ascii: "}") ? UInt8(ascii: "{") : UInt8(ascii: "[")
                guard stack.last == opener else {
                    return
                        "not valid JSON: unexpected \"\(Character(Unicode.Scalar(byte)))\" at byte \(offset) (line \(line), column \(column))"
                }
                stack.removeLast()
            default: break
            }
            if byte != UInt8(ascii: " ") && byte != UInt8(ascii: "\n") && byte != UInt8(ascii: "\t")
                && byte != UInt8(ascii: "\r")
            {
                lastSignificant = offset
            }
        }
        if inString || !stack.isEmpty {
            let inside = inString ? "a string" : (stack.last == UInt8(ascii: "{") ? "an object" : "an array")
            return
                "not valid JSON: the file ends at byte \(bytes.count) (line \(line), column \(column)) inside \(inside): it looks truncated (was the run killed while writing it?)"
        }
        if lastSignificant < 0 { return "not valid JSON: the file is empty" }
        return
            "not valid JSON (the text is \(bytes.count) bytes; the error is at or before byte \(lastSignificant + 1))"
    }
}
