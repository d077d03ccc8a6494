import Foundation

/// Starts `java` with `arguments` under a small shell that records the JVM's pid in `pidFile`, appends its
/// output to `logFile`, and kills it once the test process is gone (so a crashed test run leaves no
/// ZooKeeper behind). The shell polls with `kill -0`, which a SIGSTOPped JVM (a paused server) also passes.
func startJVMWithWatchdog(arguments: [String], logFile: String, pidFile: String) throws -> Process {
    let quoted = arguments.map { "'\($0)'" }.joined(separator: " ")
    let script = """
        /usr/bin/java \(quoted) >>'\(logFile)' 2>&1 &
        j=$!
        echo $j > '\(pidFile)'
        trap 'kill -9 $j 2>/dev/null; exit 0' TERM INT
        while kill -0 \(getpid()) 2>/dev/null && kill -0 $j 2>/dev/null; do sleep 0.3; done
        kill -9 $j 2>/dev/null
        exit 0
        """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", script]
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
}
