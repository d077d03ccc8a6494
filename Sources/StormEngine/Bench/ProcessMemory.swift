import Foundation

/// This process's memory as Linux reports it (for the footprint and znode benchmarks).
package enum ProcessMemory {
    /// VmRSS of this process from /proc/self/status, in bytes; 0 where there is no /proc.
    package static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return kb * 1024
        }
        return 0
    }
}
