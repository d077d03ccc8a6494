import CCurl
import NIOConcurrencyHelpers
import NIOPosix

/// A push or delete that the Pushgateway did not accept. The description names the URL and what to do.
public struct PushGatewayError: Error, Sendable, CustomStringConvertible {
    public var method: String
    public var url: String
    /// The HTTP status when the gateway answered, nil when it could not be reached.
    public var statusCode: Int?
    /// curl's or the gateway's own words.
    public var detail: String
    public var advice: String

    public var description: String {
        let status = statusCode.map { "HTTP \($0): " } ?? ""
        return "Pushgateway \(method) \(url) failed: \(status)\(detail). \(advice)"
    }
}

/// PUTs gzip'd exposition text to a Pushgateway group and DELETEs it, with libcurl.
///
/// curl's easy interface blocks, so every request runs on this client's own thread (a one-thread
/// `NIOThreadPool`): callers await it without blocking their task or any event loop, and requests
/// are serialised, so an older body can never land after a newer one.
public final class PushGatewayClient: Sendable {
    public let configuration: PushConfiguration
    private let threadPool: NIOThreadPool
    private let abortSignal = AbortSignal()

    public init(configuration: PushConfiguration) {
        _ = CurlGlobal.initialized
        self.configuration = configuration
        threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
    }

    /// Replaces the group's metrics with `text` (exposition format 0.0.4), sent gzip-compressed.
    public func push(_ text: String, timeout: Duration? = nil) async throws(PushGatewayError) {
        let body: [UInt8]
        do {
            body = try Gzip.compress(Array(text.utf8))
        } catch {
            throw PushGatewayError(
                method: "PUT",
                url: configuration.groupURL,
                detail: error.description,
                advice: "This is a bug in zkstorm's gzip; please report it."
            )
        }
        try await push(gzippedBody: body, timeout: timeout)
    }

    /// PUTs an already gzip-compressed body.
    public func push(gzippedBody body: [UInt8], timeout: Duration? = nil) async throws(PushGatewayError) {
        try await perform(method: "PUT", body: body, timeout: timeout)
    }

    /// Deletes the whole group (every series of this instance and run).
    public func delete(timeout: Duration? = nil) async throws(PushGatewayError) {
        try await perform(method: "DELETE", body: nil, timeout: timeout)
    }

    /// Makes the request in flight (if any) and every later one fail at once until `resume()`; lets
    /// `MetricsPusher.finish()` stop a push that hangs on a dead gateway without waiting out its timeout.
    public func abortRequests() {
        abortSignal.aborted.withLockedValue { $0 = true }
    }

    public func resumeRequests() {
        abortSignal.aborted.withLockedValue { $0 = false }
    }

    /// Runs `work` on the client's thread, after the request in flight; nil once the client is shut down.
    func runOnClientThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T? {
        try? await threadPool.runIfActive(work)
    }

    /// Stops the client's thread once the request in flight (bounded by its timeout) returns.
    public func shutdown() async {
        try? await threadPool.shutdownGracefully()
    }

    deinit {
        // A pool must be stopped before it goes; a second shutdown after `shutdown()` is harmless.
        threadPool.shutdownGracefully { _ in }
    }

    private func perform(method: String, body: [UInt8]?, timeout: Duration?) async throws(PushGatewayError) {
        let configuration = configuration
        let url = configuration.groupURL
        let signal = abortSignal
        let result: Result<Void, PushGatewayError>
        do {
            result = try await threadPool.runIfActive {
                CurlRequest.run(
                    method: method,
                    url: url,
                    body: body,
                    configuration: configuration,
                    timeout: timeout ?? configuration.timeout,
                    abortSignal: signal
                )
            }
        } catch {
            result = .failure(
                PushGatewayError(
                    method: method,
                    url: url,
                    detail: "the client was shut down",
                    advice: "Create a new PushGatewayClient."
                )
            )
        }
        try result.get()
    }
}

/// Set to abort curl transfers from another thread; read in curl's progress callback.
final class AbortSignal: Sendable {
    let aborted = NIOLockedValueBox(false)
}

/// `curl_global_init` must run once before any thread uses curl; a static let runs it exactly once.
enum CurlGlobal {
    static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK
}

/// One blocking curl request; only ever runs on `PushGatewayClient`'s thread.
enum CurlRequest {
    /// Collects the response body, bounded so a misbehaving server cannot grow it without limit.
    final class ResponseBody {
        var bytes: [UInt8] = []
    }

    static func run(
        method: String,
        url: String,
        body: [UInt8]?,
        configuration: PushConfiguration,
        timeout: Duration,
        abortSignal: AbortSignal
    ) -> Result<Void, PushGatewayError> {
        func failure(_ status: Int?, _ detail: String, _ advice: String) -> Result<Void, PushGatewayError> {
            .failure(PushGatewayError(method: method, url: url, statusCode: status, detail: detail, advice: advice))
        }
        if abortSignal.aborted.withLockedValue({ $0 }) {
            return failure(
                nil,
                "aborted because the run is finishing",
                "Nothing to do: the final push is bounded in time."
            )
        }
        guard let handle = curl_easy_init() else {
            return failure(nil, "curl_easy_init failed", "libcurl could not allocate a handle; check available memory.")
        }
        defer { curl_easy_cleanup(handle) }
        var headers: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headers) }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }
        let response = ResponseBody()
        let responseContext = Unmanaged.passRetained(response)
        defer { responseContext.release() }
        let abortContext = Unmanaged.passRetained(abortSignal)
        defer { abortContext.release() }

        _ = zkstorm_curl_setopt_string(handle, CURLOPT_URL, url)
        _ = zkstorm_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method)
        // Timeouts must not use signals: this is a multi-threaded process.
        _ = zkstorm_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = zkstorm_curl_setopt_long(
            handle,
            CURLOPT_CONNECTTIMEOUT_MS,
            milliseconds(min(configuration.connectTimeout, timeout))
        )
        _ = zkstorm_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, milliseconds(timeout))
        _ = zkstorm_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
        _ = zkstorm_curl_setopt_write_callback(handle, CURLOPT_WRITEFUNCTION) { data, size, count, context in
            let length = size * count
            guard let data, let context else { return length }
            let response = Unmanaged<ResponseBody>.fromOpaque(context).takeUnretainedValue()
            if response.bytes.count < 4096 {
                response.bytes += UnsafeRawBufferPointer(start: data, count: length).prefix(4096 - response.bytes.count)
            }
            return length
        }
        _ = zkstorm_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, responseContext.toOpaque())
        _ = zkstorm_curl_setopt_long(handle, CURLOPT_NOPROGRESS, 0)
        _ = zkstorm_curl_setopt_xferinfo_callback(handle) { context, _, _, _, _ in
            guard let context else { return 0 }
            return Unmanaged<AbortSignal>.fromOpaque(context).takeUnretainedValue().aborted.withLockedValue { $0 }
                ? 1 : 0
        }
        _ = zkstorm_curl_setopt_pointer(handle, CURLOPT_XFERINFODATA, abortContext.toOpaque())

        if let auth = configuration.basicAuth {
            _ = zkstorm_curl_setopt_long(handle, CURLOPT_HTTPAUTH, zkstorm_curl_auth_basic)
            _ = zkstorm_curl_setopt_string(handle, CURLOPT_USERNAME, auth.user)
            _ = zkstorm_curl_setopt_string(handle, CURLOPT_PASSWORD, auth.password)
        }
        if let token = configuration.bearerToken {
            headers = curl_slist_append(headers, "Authorization: Bearer \(token)")
        }
        if let caFile = configuration.caFile {
            _ = zkstorm_curl_setopt_string(handle, CURLOPT_CAINFO, caFile)
        }
        if configuration.insecure {
            _ = zkstorm_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 0)
            _ = zkstorm_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 0)
        }
        // No "Expect: 100-continue" round trip before the body.
        headers = curl_slist_append(headers, "Expect:")
        if body != nil {
            headers = curl_slist_append(headers, "Content-Type: \(PrometheusExposition.contentType)")
            headers = curl_slist_append(headers, "Content-Encoding: gzip")
        }
        _ = zkstorm_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headers))

        let code: CURLcode
        if let body {
            code = body.withUnsafeBufferPointer { buffer in
                _ = zkstorm_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, buffer.count)
                _ = zkstorm_curl_setopt_pointer(
                    handle,
                    CURLOPT_POSTFIELDS,
                    UnsafeMutableRawPointer(mutating: buffer.baseAddress)
                )
                return curl_easy_perform(handle)
            }
        } else {
            code = curl_easy_perform(handle)
        }

        guard code == CURLE_OK else {
            let detail =
                errorBuffer.pointee != 0 ? String(cString: errorBuffer) : String(cString: curl_easy_strerror(code))
            return failure(nil, detail, advice(for: code))
        }
        var status = 0
        _ = zkstorm_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        if (200..<300).contains(status) { return .success(()) }
        let message = String(decoding: response.bytes, as: UTF8.self).trimmingWhitespace()
        return failure(status, message.isEmpty ? "no message" : message, advice(forStatus: status))
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }

    static func advice(for code: CURLcode) -> String {
        switch code {
        case CURLE_ABORTED_BY_CALLBACK:
            return "Aborted because the run is finishing; nothing to do."
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM:
            return
                "Give the CA that signed the gateway's certificate with --push-ca-file (ZKSTORM_PUSH_CA_FILE), or --push-insecure for a test gateway."
        case CURLE_OPERATION_TIMEDOUT:
            return
                "The gateway is slow or unreachable; check it is up and reachable from here, or raise --push-timeout (ZKSTORM_PUSH_TIMEOUT)."
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT:
            return
                "Fix --push-gateway (ZKSTORM_PUSHGATEWAY): it must be an http:// or https:// URL such as http://127.0.0.1:9091."
        default:
            return
                "Check that the Pushgateway is running and reachable at the address given by --push-gateway (ZKSTORM_PUSHGATEWAY)."
        }
    }

    static func advice(forStatus status: Int) -> String {
        switch status {
        case 401, 403:
            return
                "Check the credentials: --push-basic-auth (ZKSTORM_PUSH_BASIC_AUTH) or --push-bearer-token (ZKSTORM_PUSH_BEARER_TOKEN)."
        case 404, 405:
            return
                "The URL does not lead to a Pushgateway's push API; check --push-gateway (ZKSTORM_PUSHGATEWAY), including any path prefix."
        case 400:
            return "The gateway rejected the metrics body; this is a zkstorm bug, please report it with this message."
        default:
            return "Check the Pushgateway's log."
        }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
