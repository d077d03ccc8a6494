import Benchmark
import NIOCore
import StormMetrics
import ZooKeeperProtocol
@_spi(Benchmarks) import ZooKeeperServer

/// Time and mallocs per operation on the hot paths: jute frames of getData/setData/notifications,
/// request application in the server (getData, setData firing a watch), the server's notification
/// encoding, histogram recording and the watcher read path (frame decoder, reply header, watcher event).
/// Thresholds/ holds the committed p90 figures (the highest of three quiet runs); `scripts/bench --micro`
/// fails when the time per operation grows by more than 10% or a path allocates more than it does today.
///
/// Names carry no spaces or slashes: package-benchmark writes threshold files under a name with those
/// replaced by `_` but looks them up under the name as given, so a name with a space never finds its
/// thresholds ("Could not find any matching absolute thresholds").
///
/// Time is wall-clock of one thread doing nothing else: this machine's process CPU clock ticks in
/// 10 ms steps, too coarse for these loops (it read 0 or 10 ms for most of them), so CPU is not
/// checked; run it on a quiet machine, as wall-clock time measures the neighbours too.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000,
        thresholds: [
            .wallClock: .init(relative: [.p90: 10]),
            // Per iteration of 1,000 operations: one allocation added to a path is +1,000; the harness
            // itself moves by a few dozen between runs (scripts/peers/micro_report.py applies the same rule).
            .mallocCountTotal: .init(absolute: [.p90: 100]),
        ]
    )

    let path = "/zkstorm/run/watched/w0"
    let value = [UInt8](repeating: 0x7A, count: 100)
    let stat = Stat(
        czxid: 2,
        mzxid: 90,
        ctime: 1_764_000_000_000,
        mtime: 1_764_000_000_500,
        version: 88,
        cversion: 0,
        aversion: 0,
        ephemeralOwner: 0,
        dataLength: 100,
        numChildren: 0,
        pzxid: 2
    )

    Benchmark("jute.encode.getData-request-frame") { benchmark in
        var buffer = ByteBufferAllocator().buffer(capacity: 64 * 1024)
        let request = ZooKeeperRequest.getData(path: path, watch: true)
        for xid in benchmark.scaledIterations {
            request.encodeFrame(xid: Int32(truncatingIfNeeded: xid), into: &buffer)
            if buffer.writerIndex > 60 * 1024 { buffer.clear() }
        }
        blackHole(buffer)
    }

    Benchmark("jute.encode.setData-request-frame-100B") { benchmark in
        var buffer = ByteBufferAllocator().buffer(capacity: 64 * 1024)
        let request = ZooKeeperRequest.setData(path: path, data: value, version: -1)
        for xid in benchmark.scaledIterations {
            request.encodeFrame(xid: Int32(truncatingIfNeeded: xid), into: &buffer)
            if buffer.writerIndex > 60 * 1024 { buffer.clear() }
        }
        blackHole(buffer)
    }

    Benchmark("jute.decode.getData-reply-100B") { benchmark in
        var frame = ByteBufferAllocator().buffer(capacity: 256)
        ReplyHeader(xid: 7, zxid: 90, err: .ok).encode(into: &frame)
        ZooKeeperResponse.data(value, stat: stat).encode(into: &frame)
        for _ in benchmark.scaledIterations {
            var copy = frame
            let header = try ReplyHeader(from: &copy)
            blackHole(header)
            blackHole(try ZooKeeperResponse.decode(opCode: .getData, from: &copy))
        }
    }

    Benchmark("server.encode.notification-frame") { benchmark in
        var buffer = ByteBufferAllocator().buffer(capacity: 64 * 1024)
        let event = WatcherEvent(type: .nodeDataChanged, state: .syncConnected, path: path)
        for _ in benchmark.scaledIterations {
            let start = buffer.writerIndex
            buffer.writeInteger(Int32(0))
            ReplyHeader(xid: -1, zxid: 91, err: .ok).encode(into: &buffer)
            event.encode(into: &buffer)
            buffer.setInteger(Int32(buffer.writerIndex - start - 4), at: start)
            if buffer.writerIndex > 60 * 1024 { buffer.clear() }
        }
        blackHole(buffer)
    }

    Benchmark("server.apply.getData") { benchmark in
        var bench = RequestApplicationBench(znodes: 1_000, valueSize: 100)
        let paths = (0..<1_000).map { "/bench/n\($0)" }
        for index in benchmark.scaledIterations {
            blackHole(bench.apply(.getData(path: paths[index % paths.count], watch: false)))
        }
    }

    // A write that fires one data watch: getData with a watch, then setData (two requests per iteration).
    Benchmark("server.apply.setData-firing-a-watch") { benchmark in
        var bench = RequestApplicationBench(znodes: 1_000, valueSize: 100)
        let paths = (0..<1_000).map { "/bench/n\($0)" }
        let value = [UInt8](repeating: 0x62, count: 100)
        for index in benchmark.scaledIterations {
            let path = paths[index % paths.count]
            blackHole(bench.apply(.getData(path: path, watch: true)))
            blackHole(bench.apply(.setData(path: path, data: value, version: -1)))
        }
        blackHole(bench.triggered)
    }

    Benchmark("histogram.record") { benchmark in
        var histogram = LatencyHistogram()
        var value: UInt64 = 1_000
        for _ in benchmark.scaledIterations {
            histogram.record(nanoseconds: value)
            value = value &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            value = 1_000 + value % 50_000_000
        }
        blackHole(histogram.count)
    }

    // The watcher read path as the client's handler runs it per notification: find the frame in the
    // bytes one read returned, read the reply header, decode the watcher event (its path is the only
    // allocation: one String per notification).
    Benchmark("watcher.read-path.64-notifications") { benchmark in
        var wire = ByteBufferAllocator().buffer(capacity: 64 * 128)
        let event = WatcherEvent(type: .nodeDataChanged, state: .syncConnected, path: path)
        for _ in 0..<64 {
            let start = wire.writerIndex
            wire.writeInteger(Int32(0))
            ReplyHeader(xid: -1, zxid: 91, err: .ok).encode(into: &wire)
            event.encode(into: &wire)
            wire.setInteger(Int32(wire.writerIndex - start - 4), at: start)
        }
        var processor = NIOSingleStepByteToMessageProcessor(ZooKeeperFrameDecoder())
        for _ in benchmark.scaledIterations {
            try processor.process(buffer: wire) { frame in
                var frame = frame
                let header = try ReplyHeader(from: &frame)
                blackHole(header)
                blackHole(try WatcherEvent(from: &frame))
            }
        }
    }
}
