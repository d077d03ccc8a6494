import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's standard output and error as a person sees them: the live line, the report, progress
/// and warnings. One home for three rules:
/// - a broken pipe (`zkstorm run … | head -1`) means "stop printing", never a crash or SIGPIPE death,
///   so the run still writes its output files and removes its root;
/// - anything printed while the live line is on screen clears that line first, so nothing is glued to it;
/// - writes are unbuffered and whole, so stdout and stderr interleave in the order they were made.
package enum TerminalOutput {
    struct State {
        var liveLineShown = false
        var outputClosed = false
        var errorClosed = false
    }

    private static let state = NIOLockedValueBox(State())

    /// Ignore SIGPIPE: a closed pipe then shows up as EPIPE from `write`, which `write` below handles.
    package static func ignoreBrokenPipes() {
        signal(SIGPIPE, SIG_IGN)
    }

    package static var standardOutputIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    /// Writes to standard output (the report).
    package static func print(_ text: String) {
        state.withLockedValue { state in
            clearLiveLine(&state)
            if !state.outputClosed, !writeAll(STDOUT_FILENO, text) { state.outputClosed = true }
        }
    }

    /// Writes to standard error (progress, warnings, errors).
    package static func printError(_ text: String) {
        state.withLockedValue { state in
            clearLiveLine(&state)
            if !state.errorClosed, !writeAll(STDERR_FILENO, text) { state.errorClosed = true }
        }
    }

    /// Redraws the live line in place on standard output.
    package static func drawLiveLine(_ text: String) {
        state.withLockedValue { state in
            guard !state.outputClosed else { return }
            if writeAll(STDOUT_FILENO, "\r\u{1B}[2K" + text) {
                state.liveLineShown = true
            } else {
                state.outputClosed = true
            }
        }
    }

    /// Removes the live line (end of measurement).
    package static func finishLiveLine() {
        state.withLockedValue { clearLiveLine(&$0) }
    }

    /// Whether a write to standard output failed (the reader went away).
    package static var outputClosed: Bool { state.withLockedValue { $0.outputClosed } }

    private static func clearLiveLine(_ state: inout State) {
        guard state.liveLineShown else { return }
        state.liveLineShown = false
        if !state.outputClosed, !writeAll(STDOUT_FILENO, "\r\u{1B}[2K") { state.outputClosed = true }
    }

    /// False once the stream is unusable (EPIPE, or any error other than an interrupted write).
    private static func writeAll(_ descriptor: Int32, _ text: String) -> Bool {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { buffer in
                write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return false
            }
            offset += written
        }
        return true
    }
}
