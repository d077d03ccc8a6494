import CMallocStats
import Foundation
import Testing
import ZooKeeperProtocol

@testable import StormEngine

extension EngineTests {
    @Suite("Recording cost")
    struct RecordingCostTests {
        /// `ZKSTORM_RECORD_COUNT` (default 200000) recordings into warm histograms. The heap is measured
        /// with glibc's `mallinfo2` (bytes in use in every arena and in mmapped blocks) before and after
        /// the loop: a recording that kept even one 16-byte block would grow it by megabytes.
        @Test func recordingIsCheapAndDoesNotGrowTheHeap() {
            let count = Int(ProcessInfo.processInfo.environment["ZKSTORM_RECORD_COUNT"] ?? "") ?? 200_000
            let recorder = OperationRecorder()
            // Warm up: the keys exist afterwards, so the loop below only finds and updates.
            recorder.record(.get, code: .ok, nanoseconds: 1000)
            recorder.recordOpenLoop(.set, code: .ok, intendedNanoseconds: 1000, serviceNanoseconds: 900)
            var generator = SeededGenerator(seed: 3)
            // Thread CPU time, not wall time: the figure must not depend on how loaded the machine is.
            let heapBefore = Self.heapBytesInUse()
            let start = Self.threadCPUNanoseconds()
            for i in 0..<count {
                let value = 20_000 + generator.next() % 5_000_000
                if i & 1 == 0 {
                    recorder.record(.get, code: .ok, nanoseconds: value)
                } else {
                    recorder.recordOpenLoop(
                        .set,
                        code: .ok,
                        intendedNanoseconds: value + 1000,
                        serviceNanoseconds: value
                    )
                }
            }
            let perRecording = Double(Self.threadCPUNanoseconds() - start) / Double(max(count, 1))
            let heapGrowth = Self.heapBytesInUse() - heapBefore
            var recorded = RecordedInterval()
            recorder.drain(into: &recorded)
            #expect(recorded.requestCount == UInt64(count) + 2)
            // Generous for an unoptimised build on a shared machine; the figure is printed for the record.
            #expect(perRecording < 5_000, "\(perRecording) ns per recording")
            // 256 KiB of slack for the test runner's own threads; one block per recording is 3 MiB.
            #expect(heapGrowth < 256 * 1024, "the heap grew by \(heapGrowth) bytes over \(count) recordings")
            print(
                "recording cost: \(Int(perRecording)) ns per recording, heap growth \(heapGrowth) bytes "
                    + "(\(count) recordings)"
            )
        }

        /// Bytes the process has allocated and not freed: arena chunks in use plus mmapped blocks.
        static func heapBytesInUse() -> Int {
            Int(zkstorm_heap_bytes_in_use())
        }

        static func threadCPUNanoseconds() -> UInt64 {
            var time = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
            return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
        }
    }
}
