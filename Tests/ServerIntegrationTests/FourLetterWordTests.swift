import Testing
import ZooKeeperClient
import ZooKeeperProtocol
import ZooKeeperServer
import ZooKeeperTestSupport

@Suite struct FourLetterWordTests {
    @Test func wordsAnswerInZooKeeperFormats() async throws {
        try await withBuiltInServer { server in
            let port = server.port
            #expect(try await FourLetterWordClient.send("ruok", host: "127.0.0.1", port: port) == "imok")
            #expect(try await FourLetterWordClient.send("isro", host: "127.0.0.1", port: port) == "rw")

            let client = try WireSocket(port: port)
            let session = try client.handshake()
            let sid = "0x" + String(session.sessionId, radix: 16)
            _ = try client.call(.create(CreateRequest(path: "/w", data: [1, 2, 3]), opCode: .create))
            _ = try client.call(.create(CreateRequest(path: "/w/e", data: nil, mode: .ephemeral), opCode: .create))
            _ = try client.call(.getData(path: "/w", watch: true))
            _ = try client.call(.exists(path: "/missing", watch: true))

            let srvr = try await FourLetterWordClient.send("srvr", host: "127.0.0.1", port: port)
            let lines = srvr.split(separator: "\n").map(String.init)
            #expect(lines.count == 9)
            #expect(lines[0].hasPrefix("Zookeeper version: 3.8.0-zkstorm, built on "))
            #expect(lines[1].hasPrefix("Latency min/avg/max: "))
            #expect(lines[2].hasPrefix("Received: ") && lines[3].hasPrefix("Sent: "))
            #expect(lines[4] == "Connections: 2")
            #expect(lines[5] == "Outstanding: 0")
            #expect(lines[6] == "Zxid: 0x3")  // session, /w, /w/e
            #expect(lines[7] == "Mode: standalone")
            #expect(lines[8] == "Node count: 7")

            let stat = try await FourLetterWordClient.send("stat", host: "127.0.0.1", port: port)
            #expect(stat.contains("Clients:\n /127.0.0.1:"))
            #expect(stat.contains("Mode: standalone\n"))
            let cons = try await FourLetterWordClient.send("cons", host: "127.0.0.1", port: port)
            #expect(cons.contains("sid=\(sid),lop=EXIS"))
            #expect(cons.hasSuffix("\n\n"))

            #expect(
                try await FourLetterWordClient.send("wchs", host: "127.0.0.1", port: port)
                    == "1 connections watching 2 paths\nTotal watches:2\n"
            )
            #expect(
                try await FourLetterWordClient.send("wchc", host: "127.0.0.1", port: port)
                    == "\(sid)\n\t/missing\n\t/w\n\n"
            )
            #expect(
                try await FourLetterWordClient.send("wchp", host: "127.0.0.1", port: port)
                    == "/missing\n\t\(sid)\n/w\n\t\(sid)\n\n"
            )
            #expect(
                try await FourLetterWordClient.send("envi", host: "127.0.0.1", port: port).contains(
                    "\nzookeeper.version=3.8.0-zkstorm"
                )
            )
            let conf = try await FourLetterWordClient.send("conf", host: "127.0.0.1", port: port)
            #expect(conf.contains("clientPort=\(port)\n") && conf.contains("tickTime=2000\n"))
            #expect(conf.contains("minSessionTimeout=4000\n") && conf.contains("maxSessionTimeout=40000\n"))
            let dump = try await FourLetterWordClient.send("dump", host: "127.0.0.1", port: port)
            #expect(dump.hasPrefix("SessionTracker dump:\nSession Sets (1)/(1):\n"))
            #expect(dump.contains("Sessions with Ephemerals (1):\n\(sid):\n\t/w/e\n"))
            #expect(
                try await FourLetterWordClient.send("gtmk", host: "127.0.0.1", port: port)
                    == "gtmk is not executed because it is not in the whitelist.\n"
            )

            let mntr = try await FourLetterWordClient.monitor(host: "127.0.0.1", port: port)
            #expect(mntr["zk_server_state"] == "standalone")
            #expect(mntr["zk_znode_count"] == "7")
            #expect(mntr["zk_ephemerals_count"] == "1")
            #expect(mntr["zk_watch_count"] == "2")
            #expect(mntr["zk_num_alive_connections"] == "2")
            #expect(mntr["zk_global_sessions"] == "1")
            #expect(mntr["zk_approximate_data_size"] == "\(44 + 2 + 3 + 4)")
        }
    }

    @Test func packetCountersAreExact() async throws {
        try await withBuiltInServer { server in
            let before = try await FourLetterWordClient.monitor(host: "127.0.0.1", port: server.port)
            let client = try WireSocket(port: server.port)
            try client.handshake()
            for i in 0..<10 { _ = try client.call(.exists(path: "/n\(i)", watch: false)) }
            let after = try await FourLetterWordClient.monitor(host: "127.0.0.1", port: server.port)
            let received = (Int(before["zk_packets_received"]!)!, Int(after["zk_packets_received"]!)!)
            let sent = (Int(before["zk_packets_sent"]!)!, Int(after["zk_packets_sent"]!)!)
            // Handshake + 10 requests + the second mntr in; first mntr's answer + handshake + 10 replies out.
            #expect(received.1 - received.0 == 12)
            #expect(sent.1 - sent.0 == 12)
        }
    }
}
