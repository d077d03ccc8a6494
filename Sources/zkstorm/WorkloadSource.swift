import ArgumentParser
import Foundation
import StormEngine

/// A workload FILE or `--preset NAME`, as `run` and `sweep` take it: a missing file, a directory, a
/// preset name given as a file, or a malformed file each get their own message and sysexits code.
enum WorkloadSource {
    /// - Parameter failure: prints the message for the command and gives the exit code to throw.
    static func load(file: String?, preset: String?, failure: (String, Int32) -> ExitCode) throws -> Workload {
        do {
            switch (file, preset) {
            case (let file?, nil):
                var isDirectory: ObjCBool = false
                let exists = FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory)
                if !exists {
                    let hint =
                        Presets.names.contains(file)
                        ? "; did you mean --preset \(file)?"
                        : "; give a workload YAML file or --preset NAME (presets: \(Presets.names.joined(separator: ", ")))"
                    throw failure("\(file): no such file\(hint)", 66)
                }
                if isDirectory.boolValue {
                    throw failure("\(file) is a directory; give a workload YAML file inside it, or --preset NAME", 66)
                }
                return try WorkloadParser.load(path: file)
            case (nil, let preset?): return try Presets.workload(named: preset)
            case (nil, nil):
                throw failure(
                    "give a workload FILE or --preset NAME (presets: \(Presets.names.joined(separator: ", ")))",
                    64
                )
            case (_?, _?): throw failure("give either a workload FILE or --preset, not both", 64)
            }
        } catch let error as WorkloadError {
            // Line 0 on a file: it could not be read at all (permissions).
            let code: Int32 = error.file == "--preset" ? 64 : (error.line == 0 ? 66 : 65)
            throw failure("\(error)", code)
        }
    }
}
