import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The files a run (or `zkstorm report`) writes: the result JSON, the HTML report and the .hgrm
/// directory. Every path is checked before the run starts; `-` means standard output.
package struct RunOutputs: Sendable {
    package var json: String?
    package var html: String?
    package var hgrm: String?

    package init(json: String? = nil, html: String? = nil, hgrm: String? = nil) {
        self.json = json
        self.html = html
        self.hgrm = hgrm
    }

    /// True when a file goes to standard output (the text report then goes to standard error).
    package var usesStandardOutput: Bool { json == "-" || html == "-" }

    /// What stops an output from being written, naming the flag and the path; nil when all can be.
    package func problem() -> String? {
        if json == "-" && html == "-" {
            return "--json - and --html - both ask for standard output; send one of them to a file"
        }
        if let json, json != "-", let problem = Self.fileProblem(json) { return "--json \(json): \(problem)" }
        if let html, html != "-", let problem = Self.fileProblem(html) { return "--html \(html): \(problem)" }
        if let hgrm {
            if hgrm == "-" { return "--hgrm writes one file per histogram: give a directory, not -" }
            if let problem = Self.directoryProblem(hgrm) { return "--hgrm \(hgrm): \(problem)" }
        }
        return nil
    }

    package static func fileProblem(_ path: String) -> String? {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { return "is a directory; give a file name" }
            return access(path, W_OK) == 0 ? nil : "exists and is not writable"
        }
        return parentProblem(path)
    }

    static func directoryProblem(_ path: String) -> String? {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if !isDirectory.boolValue { return "is a file; give a directory (it is created if missing)" }
            return access(path, W_OK) == 0 ? nil : "the directory is not writable"
        }
        return parentProblem(path)
    }

    static func parentProblem(_ path: String) -> String? {
        let parent = (path as NSString).deletingLastPathComponent
        let directory = parent.isEmpty ? "." : parent
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
        else { return "the directory \(directory) does not exist" }
        return access(directory, W_OK) == 0 ? nil : "the directory \(directory) is not writable"
    }

    /// Writes every output, each on its own (one failure does not stop the others), reporting on
    /// standard error. False when any could not be written.
    package func write(_ result: RunResult, quiet: Bool, command: String = "zkstorm run") -> Bool {
        var ok = true
        func attempt(_ what: String, _ path: String, _ body: () throws -> Void) {
            do {
                try body()
                if !quiet && path != "-" { TerminalOutput.printError("zkstorm: \(what) written to \(path)\n") }
            } catch {
                ok = false
                TerminalOutput.printError("\(command): could not write \(path): \(error.localizedDescription)\n")
            }
        }
        if let json {
            attempt("result", json) {
                let data = try result.jsonData()
                if json == "-" {
                    TerminalOutput.print(String(decoding: data, as: UTF8.self) + "\n")
                } else {
                    try data.write(to: URL(fileURLWithPath: json))
                }
            }
        }
        if let html {
            attempt("HTML report", html) {
                let page = HTMLReport.render(result)
                if html == "-" {
                    TerminalOutput.print(page)
                } else {
                    try page.write(toFile: html, atomically: true, encoding: .utf8)
                }
            }
        }
        if let hgrm {
            attempt(".hgrm files", hgrm) { _ = try HgrmWriter.write(result, to: hgrm) }
        }
        return ok
    }
}
