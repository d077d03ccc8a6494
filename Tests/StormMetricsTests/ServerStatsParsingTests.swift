import Foundation
import Testing

@testable import StormMetrics

/// `mntr` and `srvr` replies captured from ZooKeeper 3.8, parsed (scraping real servers is in
/// MetricsIntegrationTests).
@Suite struct ServerStatsParsingTests {
    @Test func parsesMntrCapturedFromZooKeeper38() throws {
        let stats = try #require(ServerStatsScraper.parseMntr(ZooKeeper38Replies.mntr, server: "127.0.0.1:2181"))
        #expect(stats.host == "127.0.0.1:2181")
        #expect(stats.state == "standalone")
        #expect(stats.version == "3.8.0")
        #expect(stats.values["zk_znode_count"] == 5)
        #expect(stats.values["zk_num_alive_connections"] == 1)
        #expect(stats.values["zk_approximate_data_size"] == 44)
        #expect(stats.values["zk_avg_latency"] == 0)
        #expect(stats.values["zk_open_file_descriptor_count"] == 40)
        #expect(stats.values["zk_last_client_response_size"] == -1)
        #expect(stats.values["zk_server_state"] == nil && stats.values["zk_version"] == nil)
        #expect(stats.values.count == ZooKeeper38Replies.mntr.split(separator: "\n").count - 2, "every numeric line")
    }

    @Test func parsesSrvrCapturedFromZooKeeper38OntoMntrNames() throws {
        let stats = try #require(ServerStatsScraper.parseSrvr(ZooKeeper38Replies.srvr, server: "h:1"))
        #expect(stats.state == "standalone")
        #expect(stats.version == "3.8.0")
        #expect(
            stats.values == [
                "zk_min_latency": 0, "zk_avg_latency": 0, "zk_max_latency": 0, "zk_packets_received": 3,
                "zk_packets_sent": 3,
                "zk_num_alive_connections": 1, "zk_outstanding_requests": 0, "zk_zxid": 0, "zk_znode_count": 5,
            ]
        )
    }

    @Test func refusalIsNotMistakenForStatistics() {
        #expect(ServerStatsScraper.parseMntr(ZooKeeper38Replies.mntrNotWhitelisted, server: "h:1") == nil)
        #expect(
            ServerStatsScraper.parseSrvr(
                ZooKeeper38Replies.mntrNotWhitelisted.replacingOccurrences(of: "mntr", with: "srvr"),
                server: "h:1"
            ) == nil
        )
        #expect(ServerStatsScraper.parseMntr("", server: "h:1") == nil)
    }
}
