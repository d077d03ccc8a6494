import Foundation

/// A file a workload file names (a CA, a client certificate or key, a password file) is taken relative to
/// the workload file's own directory, as compilers and configuration tools take include paths, so a
/// workload and its certificates can move together and run from any current directory. Absolute paths,
/// and paths in a text with no directory (a preset, `preset:<name>`), are left as written.
enum WorkloadRelativePath {
    static func resolve(_ path: String?, againstFile file: String) -> String? {
        guard let path, !path.hasPrefix("/"), !path.hasPrefix("~"), file.contains("/") else { return path }
        let directory = (file as NSString).deletingLastPathComponent
        guard !directory.isEmpty, !file.hasPrefix("preset:") else { return path }
        return (directory as NSString).appendingPathComponent(path)
    }
}

extension TargetSecurity {
    /// Resolves the files a workload's `target:` section names against the workload file's directory.
    mutating func resolveFiles(relativeToWorkload file: String) {
        tlsCA = WorkloadRelativePath.resolve(tlsCA, againstFile: file)
        tlsCert = WorkloadRelativePath.resolve(tlsCert, againstFile: file)
        tlsKey = WorkloadRelativePath.resolve(tlsKey, againstFile: file)
        saslPasswordFile = WorkloadRelativePath.resolve(saslPasswordFile, againstFile: file)
        digestPasswordFile = WorkloadRelativePath.resolve(digestPasswordFile, againstFile: file)
    }
}
