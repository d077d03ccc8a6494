import NIOCore
import NIOPosix

/// A four-letter-word exchange that could not complete; `description` names the server, the word and
/// what to check.
public struct FourLetterWordError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The word is not four ASCII letters; nothing was sent.
        case notAWord
        /// No TCP connection to the server.
        case cannotConnect
        /// The connection failed after it opened.
        case connectionFailed
        /// The server did not close the connection (its end of a reply) within the timeout.
        case timedOut
    }

    public var kind: Kind
    /// host:port
    public var server: String
    public var word: String
    public var message: String

    public init(_ kind: Kind, server: String, word: String, message: String) {
        self.kind = kind
        self.server = server
        self.word = word
        self.message = message
    }

    public var description: String { "\(word) to \(server): \(message)" }
}

/// Sends a four-letter admin word (`ruok`, `srvr`, `mntr`, …) on a fresh connection and returns the
/// server's whole text answer (the server closes the connection after answering).
public enum FourLetterWordClient {
    /// Replies are cut at this size (a `dump` or `cons` of a large server is still far below it).
    static let maximumReply = 4 * 1024 * 1024

    /// Sends `word` and returns the answer.
    ///
    /// On the wire: a new TCP connection, the four ASCII bytes of the word and nothing else (no length
    /// prefix: the server tells a word from a handshake by its first four bytes); the server writes its
    /// text answer and closes the connection.
    ///
    /// - Parameters:
    ///   - word: Four ASCII letters, e.g. `ruok`, `srvr`, `mntr`, `cons`.
    ///   - host: The server's host name or address.
    ///   - port: The server's client port.
    ///   - timeout: Bounds the connect and, separately, the whole answer.
    ///   - eventLoopGroup: Where the connection runs.
    /// - Returns: Every byte the server wrote before closing, as UTF-8 text; a word outside the server's
    ///   `4lw.commands.whitelist` gets a sentence saying so.
    /// - Throws: ``FourLetterWordError`` naming the server and the word: `.notAWord` when `word` is not
    ///   four bytes, `.cannotConnect`/`.connectionFailed` when the connection fails, `.timedOut` when
    ///   the answer does not end in time.
    public static func send(
        _ word: String,
        host: String,
        port: Int,
        timeout: Duration = .seconds(5),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(FourLetterWordError) -> String {
        let server = HostPort(host: host, port: port).description
        guard word.utf8.count == 4 else {
            throw FourLetterWordError(
                .notAWord,
                server: server,
                word: word,
                message: "\"\(word)\" is not a four-letter word"
            )
        }
        let nanos = max(timeout.nanoseconds, 1_000_000)
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: eventLoopGroup)
                .connectTimeout(.nanoseconds(nanos))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw FourLetterWordError(
                .cannotConnect,
                server: server,
                word: word,
                message: "cannot connect (\(ClientSession.describe(error))); check that the server runs there"
            )
        }
        let result: Result<String, FourLetterWordError> = await withTaskGroup(
            of: Result<String, FourLetterWordError>?.self
        ) { group in
            group.addTask {
                do {
                    return .success(try await exchange(word, on: channel))
                } catch {
                    return .failure(
                        FourLetterWordError(
                            .connectionFailed,
                            server: server,
                            word: word,
                            message: "connection failed: \(ClientSession.describe(error))"
                        )
                    )
                }
            }
            group.addTask {
                try? await Task.sleep(for: .nanoseconds(nanos))
                return nil
            }
            let first = await group.next() ?? nil
            if first == nil {
                // Closing the channel ends the read loop of the exchange task.
                channel.channel.close(promise: nil)
            }
            group.cancelAll()
            return first
                ?? .failure(
                    FourLetterWordError(
                        .timedOut,
                        server: server,
                        word: word,
                        message: "no complete reply within \(timeout)"
                    )
                )
        }
        return try result.get()
    }

    private static func exchange(
        _ word: String,
        on channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    ) async throws -> String {
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: word))
            var reply = ByteBuffer()
            for try await var chunk in inbound {
                reply.writeBuffer(&chunk)
                if reply.readableBytes > maximumReply { break }
            }
            return String(buffer: reply)
        }
    }
}

extension FourLetterWordClient {
    /// Sends `mntr` and returns its answer as key → value.
    ///
    /// - Parameters:
    ///   - host: The server's host name or address.
    ///   - port: The server's client port.
    ///   - timeout: As for ``send(_:host:port:timeout:eventLoopGroup:)``.
    /// - Returns: ``monitorValues(_:)`` of the answer (empty when `mntr` is not on the server's whitelist).
    /// - Throws: ``FourLetterWordError``, as ``send(_:host:port:timeout:eventLoopGroup:)`` does.
    public static func monitor(
        host: String,
        port: Int,
        timeout: Duration = .seconds(5)
    ) async throws(FourLetterWordError) -> [String: String] {
        monitorValues(try await send("mntr", host: host, port: port, timeout: timeout))
    }

    /// `mntr`'s `key<TAB>value` lines as key → value (the value as written, without leading blanks);
    /// other lines are skipped.
    public static func monitorValues(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: "\t", maxSplits: 1)
            guard fields.count == 2 else { continue }
            values[String(fields[0])] = String(fields[1].trimmingPrefix(" "))
        }
        return values
    }
}
