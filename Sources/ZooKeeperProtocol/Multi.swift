import NIOCore

/// `MultiHeader {int type, boolean done, int err}`: precedes every op and result of a multi.
public struct MultiHeader: JuteRecord, Hashable {
    public var type: OpCode
    public var done: Bool
    public var err: ErrorCode

    public init(type: OpCode, done: Bool, err: ErrorCode) {
        self.type = type
        self.done = done
        self.err = err
    }

    public static let end = MultiHeader(type: OpCode(-1), done: true, err: ErrorCode(-1))

    public init(from buffer: inout ByteBuffer) throws(JuteDecodingError) {
        type = OpCode(try buffer.readJuteInt("MultiHeader.type"))
        done = try buffer.readJuteBool("MultiHeader.done")
        err = ErrorCode(try buffer.readJuteInt("MultiHeader.err"))
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(type.rawValue)
        buffer.writeJuteBool(done)
        buffer.writeJuteInt(err.rawValue)
    }
}

/// One operation inside multi (14) or multiRead (22).
public enum MultiOperation: Hashable, Sendable {
    /// `opCode` is create, create2, createContainer or createTTL.
    case create(CreateRequest, opCode: OpCode)
    case delete(path: String, version: Int32)
    case setData(path: String, data: [UInt8]?, version: Int32)
    case check(path: String, version: Int32)
    case getData(path: String)
    case getChildren(path: String)

    public var opCode: OpCode {
        switch self {
        case .create(_, let op): op
        case .delete: .delete
        case .setData: .setData
        case .check: .check
        case .getData: .getData
        case .getChildren: .getChildren
        }
    }

    public var path: String {
        switch self {
        case .create(let c, _): c.path
        case .delete(let p, _), .setData(let p, _, _), .check(let p, _), .getData(let p), .getChildren(let p): p
        }
    }

    public static func encode(_ ops: [MultiOperation], into buffer: inout ByteBuffer) {
        for op in ops {
            MultiHeader(type: op.opCode, done: false, err: ErrorCode(-1)).encode(into: &buffer)
            switch op {
            case .create(let c, let code):
                c.encode(into: &buffer, withTTL: code == .createTTL)
            case .delete(let path, let version), .check(let path, let version):
                buffer.writeJuteString(path)
                buffer.writeJuteInt(version)
            case .setData(let path, let data, let version):
                buffer.writeJuteString(path)
                buffer.writeJuteBuffer(data)
                buffer.writeJuteInt(version)
            case .getData(let path), .getChildren(let path):
                // GetDataRequest / GetChildrenRequest with watch = false.
                buffer.writeJuteString(path)
                buffer.writeJuteBool(false)
            }
        }
        MultiHeader.end.encode(into: &buffer)
    }

    /// Reads ops until the end marker. An op of the wrong family for the request is refused.
    public static func decodeAll(
        from buffer: inout ByteBuffer,
        readOnly: Bool
    ) throws(JuteDecodingError) -> [MultiOperation] {
        var ops: [MultiOperation] = []
        while true {
            let header = try MultiHeader(from: &buffer)
            if header.done { return ops }
            let readOp = header.type == .getData || header.type == .getChildren
            guard readOp == readOnly else {
                throw JuteDecodingError(.malformed("opcode \(header.type) not allowed here"), field: "MultiHeader.type")
            }
            switch header.type {
            case .create, .create2, .createContainer, .createTTL:
                ops.append(
                    .create(try CreateRequest(from: &buffer, withTTL: header.type == .createTTL), opCode: header.type)
                )
            case .delete:
                ops.append(
                    .delete(
                        path: try buffer.readJuteNonNullString("DeleteRequest.path"),
                        version: try buffer.readJuteInt("DeleteRequest.version")
                    )
                )
            case .setData:
                ops.append(
                    .setData(
                        path: try buffer.readJuteNonNullString("SetDataRequest.path"),
                        data: try buffer.readJuteBuffer("SetDataRequest.data"),
                        version: try buffer.readJuteInt("SetDataRequest.version")
                    )
                )
            case .check:
                ops.append(
                    .check(
                        path: try buffer.readJuteNonNullString("CheckVersionRequest.path"),
                        version: try buffer.readJuteInt("CheckVersionRequest.version")
                    )
                )
            case .getData:
                let path = try buffer.readJuteNonNullString("GetDataRequest.path")
                _ = try buffer.readJuteBool("GetDataRequest.watch")
                ops.append(.getData(path: path))
            case .getChildren:
                let path = try buffer.readJuteNonNullString("GetChildrenRequest.path")
                _ = try buffer.readJuteBool("GetChildrenRequest.watch")
                ops.append(.getChildren(path: path))
            default:
                throw JuteDecodingError(.malformed("opcode \(header.type) not allowed here"), field: "MultiHeader.type")
            }
        }
    }
}

/// One result of a multi or multiRead.
public enum MultiResult: Hashable, Sendable {
    case create(path: String)
    case create2(path: String, stat: Stat)
    case delete
    case setData(stat: Stat)
    case check
    case getData(data: [UInt8]?, stat: Stat)
    case getChildren(children: [String])
    case error(ErrorCode)

    public var opCode: OpCode {
        switch self {
        case .create: .create
        case .create2: .create2
        case .delete: .delete
        case .setData: .setData
        case .check: .check
        case .getData: .getData
        case .getChildren: .getChildren
        case .error: .error
        }
    }

    public var error: ErrorCode? {
        if case .error(let code) = self { return code }
        return nil
    }

    public static func encode(_ results: [MultiResult], into buffer: inout ByteBuffer) {
        for result in results {
            let err: ErrorCode = result.error ?? .ok
            MultiHeader(type: result.opCode, done: false, err: err).encode(into: &buffer)
            switch result {
            case .create(let path):
                buffer.writeJuteString(path)
            case .create2(let path, let stat):
                buffer.writeJuteString(path)
                stat.encode(into: &buffer)
            case .delete, .check:
                break
            case .setData(let stat):
                stat.encode(into: &buffer)
            case .getData(let data, let stat):
                buffer.writeJuteBuffer(data)
                stat.encode(into: &buffer)
            case .getChildren(let children):
                buffer.writeJuteStringVector(children)
            case .error(let code):
                buffer.writeJuteInt(code.rawValue)
            }
        }
        MultiHeader.end.encode(into: &buffer)
    }

    public static func decodeAll(from buffer: inout ByteBuffer) throws(JuteDecodingError) -> [MultiResult] {
        var results: [MultiResult] = []
        while true {
            let header = try MultiHeader(from: &buffer)
            if header.done { return results }
            switch header.type {
            case .create:
                results.append(.create(path: try buffer.readJuteNonNullString("CreateResponse.path")))
            case .create2, .createTTL, .createContainer:
                results.append(
                    .create2(
                        path: try buffer.readJuteNonNullString("Create2Response.path"),
                        stat: try Stat(from: &buffer)
                    )
                )
            case .delete:
                results.append(.delete)
            case .check:
                results.append(.check)
            case .setData:
                results.append(.setData(stat: try Stat(from: &buffer)))
            case .getData:
                results.append(
                    .getData(data: try buffer.readJuteBuffer("GetDataResponse.data"), stat: try Stat(from: &buffer))
                )
            case .getChildren:
                results.append(
                    .getChildren(children: try buffer.readJuteStringVector("GetChildrenResponse.children") ?? [])
                )
            case .error:
                results.append(.error(ErrorCode(try buffer.readJuteInt("ErrorResponse.err"))))
            default:
                throw JuteDecodingError(.malformed("unexpected result type \(header.type)"), field: "MultiHeader.type")
            }
        }
    }
}
