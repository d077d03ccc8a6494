import NIOCore
import NIOPosix
import ZooKeeperClient

/// Whether any server of a connect string accepts a TCP connection. Tells a target that is gone
/// (refused, or silent past the timeout) from one that is frozen or electing (the kernel still accepts):
/// only a gone target ends a run early.
enum TargetReachability {
    static func anyAccepts(_ connectString: String, timeout: TimeAmount = .seconds(1)) async -> Bool {
        guard let parsed = try? ConnectString(parsing: connectString) else { return false }
        for host in parsed.hosts {
            let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(timeout)
            if let channel = try? await bootstrap.connect(host: host.host, port: host.port).get() {
                try? await channel.close().get()
                return true
            }
        }
        return false
    }
}
