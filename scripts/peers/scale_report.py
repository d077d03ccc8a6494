#!/usr/bin/env python3
"""Report writer of scripts/bench's scale steps (--only herd, --only watchscale, --only shards): prints each
table and replaces its section of BENCHMARKS.md (sections run from their '## ' title to the next '## ' title).

  scale_report.py heap                             < jcmd GC.heap_info output; prints heap used, bytes
  scale_report.py watchscale LINES COMMAND WRITE   LINES: JSON lines of `zkstorm bench watches`
  scale_report.py herd RESULT COMMAND WRITE        RESULT: the herd run's result JSON
  scale_report.py shards DIR COMMAND WRITE         DIR: scripts/peers/shard_bench.sh's --out
"""
import datetime, json, os, re, sys

WATCH_TITLE = "## Watch-count scaling: bytes per watch and time to fire"
HERD_TITLE = "## Reconnect herd on a real quorum: immediate against jittered reconnects"
SHARD_TITLE = "## Sharded watch storm: three processes against one, fan-out to the last watcher"


def heap_used(text):
    """Sum of the 'used' of every generation or region (SerialGC, ParallelGC, G1) in GC.heap_info."""
    used = [int(m) for m in re.findall(r"(?:generation|heap)\s+total \d+K, used (\d+)K", text)]
    if not used:
        sys.exit("scale_report: no heap figures in the jcmd GC.heap_info output")
    return sum(used) * 1024


def write_section(title, body, command):
    """Replaces section `title` of BENCHMARKS.md with `body` (or adds it before '## Targets')."""
    load = os.getloadavg()
    stamp = (f"Measured by `{command.strip()}` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC "
             f"(load average {load[0]:.1f} / {load[2]:.1f} over 1 / 15 min on {os.cpu_count()} cores, a shared machine).")
    block = f"{title}\n\n{body}\n\n{stamp}\n\n"
    text = open("BENCHMARKS.md").read()
    start = text.find(title)
    if start < 0:
        at = text.find("## Targets")
        text = text[:at] + block + text[at:] if at >= 0 else text.rstrip("\n") + "\n\n" + block
    else:
        end = text.find("\n## ", start + len(title))
        text = text[:start] + block + (text[end + 1:] if end >= 0 else "")
    open("BENCHMARKS.md", "w").write(text)
    print(f"\nwrote the section \"{title[3:]}\" of BENCHMARKS.md")


def mib(value):
    return f"{value / 1048576:.1f} MiB"


def watchscale(path, command, write):
    lines = [json.loads(line) for line in open(path) if line.strip()]
    rows = [r for r in lines if r.get("mode") != "reconnect"]
    moved = [r for r in lines if r.get("mode") == "reconnect"]
    if not rows:
        sys.exit("scale_report: no watch-count measurements (every `zkstorm bench watches` failed)")
    names = {"builtin": "built-in server (RSS)", "real": "ZooKeeper 3.8 (JVM heap after full GC)"}
    out = ["| server (memory measured) | watches | sessions × znodes | zk_watch_count | memory before → after "
           "| bytes per watch | time to arm | time to fire (first write → last notification) | missing |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in sorted(rows, key=lambda r: (r["server"], r["watches"])):
        memory = (f"{mib(r['memory_before_bytes'])} → {mib(r['memory_after_bytes'])}"
                  if "memory_before_bytes" in r else "not measured")
        per = f"{r['bytes_per_watch']:.0f}" if "bytes_per_watch" in r else "–"
        out.append(f"| {names.get(r['server'], r['server'])} | {r['watches']:,} | {r['sessions']} × {r['znodes']:,} "
                   f"| {r.get('zk_watch_count', '–')} | {memory} | {per} | {r['arm_s']:.2f} s | {r['fire_s']:.2f} s "
                   f"| {r['missing']} |")
    body = ("Data watches (exists on existing znodes) held by sessions of 10,000 watches each, then every znode "
            "written once (pipelined setData) and every notification awaited. Bytes per watch: the server's memory "
            "growth while arming ÷ watches (the built-in server's RSS: an upper bound that includes allocator "
            "slack; real ZooKeeper's heap used after `jcmd GC.run`). `zk_watch_count` from `mntr` once armed.\n\n"
            + "\n".join(out))
    if moved:
        how = {"builtin": "built-in server: every connection dropped (`kill -USR1` to `zkstorm serve`)",
               "real": "ZooKeeper 3.8, 3-node quorum: the first session's member killed"}
        table = ["| server, interruption | watches | sessions × znodes | sessions reconnected | watches restored "
                 "| setWatches2 batches | recovery | time to fire after | missing | sessions not back |",
                 "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in sorted(moved, key=lambda r: (r["server"], r["watches"])):
            table.append(f"| {how.get(r['server'], r['server'])} | {r['watches']:,} | {r['sessions']} × {r['znodes']:,} "
                         f"| {r.get('sessions_reconnected', '–')} | {r.get('watches_restored', 0):,} "
                         f"| {r.get('set_watches_batches', '–')} | {r.get('recovery_s', 0):.2f} s | {r['fire_s']:.2f} s "
                         f"| {r['missing']} | {r.get('sessions_not_back', '–')} |")
        body += ("\n\n### Across a reconnect\n\nThe same watches armed, then their connections broken before the "
                 "writes; the writes go out once every session that lost its connection is back (recovery: from the "
                 "interruption to the last session back, polled every 2 ms), and every watch must fire. A session "
                 "sends its watches again in setWatches2 requests split to fit `jute.maxbuffer` (ZOOKEEPER-706). On "
                 "the quorum only the sessions on the killed member move.\n\n" + "\n".join(table))
    print(body)
    if write == "1":
        write_section(WATCH_TITLE, body, command)


def herd(path, command, write):
    result = json.load(open(path))
    h = result.get("herd") or {}
    groups = h.get("groups") or []
    if not groups:
        sys.exit(f"scale_report: {path} has no herd figures")
    fault = next(iter(result.get("faults") or []), {})
    out = ["| reconnect policy | caches | steady reads/s | peak reads/s | amplification | time to drain | extra reads "
           "| caches re-read | cache lag p50 before → after |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for g in groups:
        lag = (g.get("lag_us") or {}).get("p50")
        after = (g.get("lag_after_fault_us") or {}).get("p50")
        lag_text = f"{lag / 1000:.1f} → {after / 1000:.1f} ms" if lag is not None and after is not None else "–"

        def num(key, fmt):
            return fmt.format(g[key]) if g.get(key) is not None else "–"
        out.append(f"| {g['policy']} | {g['sessions']} | {num('steady_reads_per_s', '{:.0f}')} "
                   f"| {num('peak_reads_per_s', '{:.0f}')} | {num('amplification', '{:.1f}×')} "
                   f"| {num('drain_s', '{:.1f} s')} | {num('extra_reads', '{:,}')} | {num('reread', '{}')} | {lag_text} |")
    f = result.get("failover") or {}
    body = (f"`zkstorm run` of the reconnect-herd preset ({h.get('znodes')} znodes per tree cache, "
            f"{h.get('writes_per_s', 0):.0f} writes/s) against a 3-node scripts/ensemble quorum, with its fault "
            f"\"{fault.get('label', '?')}\" at {fault.get('at_s', 0):.1f} s: both policies in the same run, on the same "
            f"fault. Amplification: peak read rate ÷ steady read rate. The run: {f.get('connection_losses', 0)} "
            f"connection losses, {f.get('reconnects', 0)} reconnects, {f.get('expirations', 0)} expirations.\n\n"
            + "\n".join(out))
    print(body)
    if write == "1":
        write_section(HERD_TITLE, body, command)


def median(values):
    values = sorted(values)
    return values[(len(values) - 1) // 2] if values else None


def storm_row(label, result, processes, watchers, spread):
    """One table row: fan-out to the last watcher (median over rounds of each round's last lag, the
    merged rounds taking the latest of every shard), lag percentiles, missed notifications."""
    rounds = result.get("rounds") or []
    fanout = median([r["last_ns"] for r in rounds if r.get("last_ns") is not None])
    lag = (result.get("watch") or {}).get("lag_us") or {}
    ledger = ((result.get("failover") or {}).get("watch") or {})
    missed = (result.get("watch") or {}).get("missed", 0)
    ms = lambda ns: f"{ns / 1e6:.1f} ms" if ns is not None else "–"
    return (f"| {label} | {processes} × {watchers:,} | {len(rounds)} | {ms(fanout)} | {lag.get('p50', 0) / 1000:.2f} ms "
            f"| {lag.get('p99', 0) / 1000:.2f} ms | {spread} | {missed} / {ledger.get('missed', '–')} |")


def shards(directory, command, write):
    manifest = json.load(open(os.path.join(directory, "manifest.json")))
    n, per = manifest["shards"], manifest["watchers_per_process"]
    parts = [json.load(open(os.path.join(directory, f"shard-{i}.json"))) for i in range(n)]
    merged = json.load(open(os.path.join(directory, "merged.json")))
    single = json.load(open(os.path.join(directory, "single.json")))
    if not merged.get("rounds") or not single.get("rounds"):
        sys.exit(f"scale_report: {directory} holds no storm rounds (did the storm run?)")
    spread = (merged.get("merged") or {}).get("start_spread_ms")
    spread_text = f"{spread:.1f} ms" if spread is not None else "–"
    out = ["| run | processes × watchers | rounds | fan-out to the last watcher (median of rounds) | lag p50 | lag p99 "
           "| measurement start spread | missed (rounds / ledger) |",
           "|---|---:|---:|---:|---:|---:|---:|---:|",
           storm_row(f"{n} shards, merged", merged, n, per, spread_text),
           storm_row("one process", single, 1, per, "–")]
    shard_rows = ["| shard | watchers | notifications | clock offset to the writer | error bar | fan-out (median of rounds) "
                  "| missed |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for p in parts:
        s = p.get("shard") or {}
        fanout = median([r["last_ns"] for r in p.get("rounds") or [] if r.get("last_ns") is not None])
        watchers = (p.get("rounds") or [{}])[0].get("expected", 0) // manifest.get("znodes", 1)
        shard_rows.append(f"| {s.get('index')} | {watchers:,} | {p['watch']['notifications']:,} "
                          f"| {s.get('clock_offset_ns', 0) / 1e6:+.3f} ms | ± {s.get('clock_error_ns', 0) / 1e6:.3f} ms "
                          f"| {fanout / 1e6:.1f} ms | {p['watch']['missed']} |" if fanout is not None else
                          f"| {s.get('index')} | {watchers:,} | {p['watch']['notifications']:,} | – | – | – | {p['watch']['missed']} |")
    error = (merged.get("merged") or {}).get("watch_lag_error_us")
    body = (f"`zkstorm run --shard I/{n}` × {n} against one `zkstorm serve`, each shard {per:,} data-watch sessions on "
            f"one znode ({n * per:,} watchers), started {manifest['stagger_s']} s apart; {manifest['rounds']} rounds "
            f"{manifest['interval']} apart written by shard 0, merged by `zkstorm report --merge`; then one process "
            f"with {per:,} watchers alone on the same server. A round's fan-out is the lag of its last watcher in any "
            f"shard (the other shards time their watchers against the writer's wall-clock stamp through their clock "
            f"offset to it, so their lags carry its error bar"
            + (f", at most ± {error / 1000:.3f} ms here" if error is not None else "") + ").\n\n"
            + "\n".join(out) + "\n\nPer shard:\n\n" + "\n".join(shard_rows))
    print(body)
    if write == "1":
        write_section(SHARD_TITLE, body, command)


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "heap":
        print(heap_used(sys.stdin.read()))
    elif mode == "watchscale" and len(sys.argv) == 5:
        watchscale(*sys.argv[2:])
    elif mode == "herd" and len(sys.argv) == 5:
        herd(*sys.argv[2:])
    elif mode == "shards" and len(sys.argv) == 5:
        shards(*sys.argv[2:])
    else:
        sys.exit(__doc__)
