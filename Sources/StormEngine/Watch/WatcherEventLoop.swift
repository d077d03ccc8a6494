import NIOCore
import NIOPosix

/// Storm watchers read their sockets on an event loop of their own, apart from the writer, the
/// operation groups and (with no target) the built-in server: like a raw epoll reader, one thread
/// drains every ready watcher socket in one pass and settles the batch after it, and the writer's send
/// never waits behind watcher reads. It lives as long as the process, as NIO's shared group does.
enum WatcherEventLoop {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// Every loop a storm's clients may run on: the watchers' own and NIO's shared group.
    static var allLoops: [any EventLoop] {
        Array(group.makeIterator()) + Array(MultiThreadedEventLoopGroup.singleton.makeIterator())
    }
}
