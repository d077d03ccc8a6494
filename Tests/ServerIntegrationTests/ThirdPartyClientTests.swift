import Foundation
import Testing
import ZooKeeperServer
import ZooKeeperTestSupport

/// Real ZooKeeper clients (Python kazoo, the Java CLI, the C CLI) against the built-in server.
@Suite struct ThirdPartyClientTests {
    static let kazooScript = #"""
        import sys, threading
        from kazoo.client import KazooClient
        from kazoo.exceptions import NoAuthError, NoNodeError, RolledBackError
        from kazoo.security import make_digest_acl

        hosts = '127.0.0.1:' + sys.argv[1]
        def client():
            c = KazooClient(hosts=hosts, timeout=10)
            c.start(timeout=10)
            return c

        zk = client()
        assert zk.server_version()[:2] == (3, 8), zk.server_version()
        zk.create('/k/a', b'one', makepath=True)
        data, stat = zk.get('/k/a')
        assert data == b'one' and stat.version == 0, (data, stat)

        fired = threading.Event(); events = []
        zk.get('/k/a', watch=lambda e: (events.append(e), fired.set()))
        zk.set('/k/a', b'two')
        assert fired.wait(5) and events[0].type == 'CHANGED' and events[0].path == '/k/a', events

        snapshots = []; grown = threading.Event()
        @zk.ChildrenWatch('/k')
        def children(names):
            snapshots.append(sorted(names))
            if 'b' in names: grown.set()
        zk.create('/k/b')
        assert grown.wait(5), snapshots

        t = zk.transaction(); t.check('/k/a', 1); t.create('/k/t1', b'x'); t.set_data('/k/a', b'three')
        results = t.commit()
        assert results[0] is True and results[1] == '/k/t1' and results[2].version == 2, results
        t = zk.transaction(); t.create('/k/t2'); t.delete('/k/missing')
        results = t.commit()
        assert isinstance(results[0], RolledBackError) and isinstance(results[1], NoNodeError), results
        assert zk.exists('/k/t2') is None

        other = client()
        other.create('/k/eph', b'', ephemeral=True)
        gone = threading.Event()
        zk.exists('/k/eph', watch=lambda e: gone.set() if e.type == 'DELETED' else None)
        other.stop(); other.close()
        assert gone.wait(5)

        first, second = client(), client()
        lock1 = first.Lock('/lock', 'one'); lock2 = second.Lock('/lock', 'two')
        assert lock1.acquire(timeout=5)
        assert not lock2.acquire(blocking=False)
        lock1.release()
        assert lock2.acquire(timeout=5)
        lock2.release()

        elected, resign = threading.Event(), threading.Event()
        def lead():
            elected.set()
            resign.wait(10)
        election = first.Election('/election', 'first')
        leader = threading.Thread(target=election.run, args=(lead,), daemon=True)
        leader.start()
        assert elected.wait(5)
        assert second.Election('/election').contenders() == ['first']
        resign.set(); leader.join(5)
        assert second.get_children('/election') == []
        first.stop(); second.stop()

        zk.add_auth('digest', 'user:pw')
        zk.create('/secret', b's', acl=[make_digest_acl('user', 'pw', all=True)])
        stranger = client()
        try:
            stranger.get('/secret'); raise AssertionError('read without auth')
        except NoAuthError:
            pass
        assert zk.get('/secret')[0] == b's'
        stranger.stop(); zk.stop()
        print('KAZOO OK')
        """#

    @Test func kazoo() async throws {
        try await withBuiltInServer { server in
            let script = FileManager.default.temporaryDirectory.appendingPathComponent(
                "zkstorm-kazoo-\(UUID().uuidString).py"
            )
            try Self.kazooScript.write(to: script, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: script) }
            // python3 from PATH: kazoo is installed for whichever interpreter pip serves.
            let python = "/usr/bin/env"
            let probe = try await ExternalProcess.run(python, ["python3", "-c", "import kazoo"])
            try #require(
                probe.status == 0,
                "kazoo is missing (\(probe.output)): run scripts/install-deps (pip install kazoo)"
            )
            let result = try await ExternalProcess.run(
                python,
                ["python3", script.path, "\(server.port)"],
                timeout: .seconds(90)
            )
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("KAZOO OK"))
        }
    }

    static let javaClasspath = [
        "zookeeper.jar", "zookeeper-jute.jar", "slf4j-api.jar", "slf4j-simple.jar", "netty-all.jar", "metrics-core.jar",
    ].map { "/usr/share/java/" + $0 }.joined(separator: ":")

    @Test func javaCommandLineClient() async throws {
        try await withBuiltInServer { server in
            let commands = """
                create /java hello
                create -e /java/eph
                create -s /java/seq- x
                set /java world
                get /java
                ls /java
                stat /java
                addWatch -m PERSISTENT_RECURSIVE /java
                create /java/child
                delete /missing
                getAllChildrenNumber /java
                getEphemerals
                setAcl /java world:anyone:r
                getAcl /java
                quit

                """
            let result = try await ExternalProcess.run(
                "/usr/bin/java",
                ["-cp", Self.javaClasspath, "org.apache.zookeeper.ZooKeeperMain", "-server", server.connectString],
                input: commands,
                timeout: .seconds(90)
            )
            let out = result.output
            #expect(out.contains("Created /java\n"), "\(out)")
            #expect(out.contains("Created /java/seq-0000000001"))
            #expect(out.contains("world\n"))
            #expect(out.contains("[eph, seq-0000000001]") || out.contains("[seq-0000000001, eph]"))
            #expect(out.contains("dataVersion = 1"))
            #expect(out.contains("type:NodeCreated path:/java/child"))
            #expect(out.contains("Node does not exist: /missing"))
            #expect(out.contains("[/java/eph]"))
            #expect(out.contains("'world,'anyone\n: r"))
            // The server closes the socket after closeSession (as ZooKeeper does); the Java client logs
            // an EndOfStreamException for that, so only decoding failures and lost connections count.
            #expect(!out.contains("java.io.EOFException") && !out.contains("ConnectionLoss"), "\(out)")
        }
    }

    @Test func cCommandLineClient() async throws {
        try await withBuiltInServer { server in
            func cli(_ command: String) async throws -> String {
                let result = try await ExternalProcess.run(
                    "/usr/lib/zookeeper/bin/cli_mt",
                    ["-h", server.connectString, "-c", command],
                    timeout: .seconds(30)
                )
                return result.output
            }
            #expect(try await cli("create /c").contains("[/c]: rc = 0"))
            #expect(try await cli("create +s /c/s-").contains("name = /c/s-0000000000"))
            #expect(try await cli("set /c hello").contains("/c: rc = 0"))
            let get = try await cli("get /c")
            #expect(get.contains("value_len = 5") && get.contains("hello"))
            #expect(try await cli("ls /c").contains("s-0000000000"))
            #expect(try await cli("delete /c/missing").contains("rc = -101"))
            #expect(try await cli("delete /c/s-0000000000").contains("rc = 0"))
            #expect(try await cli("create /c/x/y").contains("rc = -101"))
        }
    }
}
