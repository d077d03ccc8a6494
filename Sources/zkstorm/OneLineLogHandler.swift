import Logging
import StormEngine

/// How the command line shows a library's warning: one line, `zkstorm: warning: MESSAGE (key: value)`,
/// after clearing the live line, instead of swift-log's default timestamp-label-metadata dump. Only
/// warnings and worse are shown; the libraries log normal work at debug and trace.
struct OneLineLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .warning
    var metadata: Logger.Metadata = [:]

    init(label: String) {
        self.label = label
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let details = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        let suffix = details.isEmpty ? "" : " (" + details.joined(separator: ", ") + ")"
        let text = "zkstorm: \(event.level >= .error ? "error" : "warning"): \(event.message)\(suffix)"
        // One line however long the underlying error's text is.
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        TerminalOutput.printError(flat + "\n")
    }
}
