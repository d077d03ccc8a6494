#!/usr/bin/env python3
"""Turns scripts/bench's JSON lines into medians, ratios and BENCHMARKS.md (never edited by hand)."""
import collections
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

path, rounds, quick, write, command = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4] == "1", sys.argv[5]
only = sys.argv[6] if len(sys.argv) > 6 else ""
rows = [json.loads(line) for line in open(path) if line.strip()] if os.path.exists(path) else []
groups = collections.defaultdict(list)
for r in rows:
    key = (r["group"], r.get("server"), r.get("tool"), r.get("op"), r.get("inflight"), r.get("sessions", 1), r.get("watchers"))
    groups[key].append(r)


def med(key, field):
    values = [r[field] for r in groups.get(key, []) if field in r]
    return statistics.median(values) if values else None


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if abs(v) >= 1000:
        return f"{v:,.0f}{unit}"
    return f"{v:.1f}{unit}"


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


lines = []
verdicts = []


def check(name, value, target, higher_is_better=True):
    if value is None:
        verdicts.append(f"| {name} | n/a | {target} | not measured |")
        return
    ok = value >= target if higher_is_better else value <= target
    op = "≥" if higher_is_better else "≤"
    verdicts.append(f"| {name} | {value:.2f} | {op} {target} | {'met' if ok else 'NOT met'} |")


FIDELITY_TITLE = "## 7. Fidelity: zkstorm run beside a raw-socket reference instrument"


def fidelity_section():
    """Section 7 from the fidelity rows: per server, N and mode, reference vs zkstorm and their ratio."""
    fid = collections.defaultdict(list)
    for r in rows:
        if r["group"] == "fidelity":
            fid[(r["server"], r["watchers"], r["mode"], r["tool"])].append(r)
    if not fid:
        return None, []
    out = [FIDELITY_TITLE + "\n"]
    out.append("The reference is scripts/peers/watch_ref.c: raw sockets, epoll, one thread, the ZooKeeper handshake and one")
    out.append("watch per connection, stamps taken when epoll_wait returns with the socket readable; the writer's stamp is taken")
    out.append("as setData is handed to write(2). Both run the same rounds against the same server, one after the other.")
    out.append("Fan-out = the last watcher's lag, median of rounds; lag = every watcher's lag in every round. Ratio =")
    out.append("zkstorm ÷ reference (1.00× is a perfect instrument; goal ≤ 1.15×). Modes: `immediate` one-shot getData")
    out.append("watches re-armed as each event arrives (`rearm: immediate`), `after-round` re-armed when the round is over")
    out.append("(`rearm: after-round`), `persistent` addWatch mode 0, `recursive` addWatch mode 1 on the parent.\n")
    out.append("| server | watchers | mode | ref fan-out ms | zkstorm fan-out ms | ratio | ref lag p50 ms | zkstorm lag p50 ms | ratio | ref lag p99 ms | zkstorm lag p99 ms | ratio | runs | generator-bound runs |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    checks = []
    keys = sorted({(s, n, m) for (s, n, m, _) in fid}, key=lambda k: (k[0] != "real", k[1], ["immediate", "after-round", "persistent", "recursive"].index(k[2])))
    for server, n, mode in keys:
        ref, zk = fid.get((server, n, mode, "reference"), []), fid.get((server, n, mode, "zkstorm"), [])
        m = lambda xs, f: statistics.median([x[f] / 1000 for x in xs]) if xs else None
        rl, zl = m(ref, "last_p50_us"), m(zk, "last_p50_us")
        r50, z50 = m(ref, "lag_p50_us"), m(zk, "lag_p50_us")
        r99, z99 = m(ref, "lag_p99_us"), m(zk, "lag_p99_us")
        bound = sum(1 for x in zk if x.get("generator_bound"))
        f2 = lambda v: "n/a" if v is None else f"{v:.2f}"
        fr = lambda a, b: "n/a" if ratio(a, b) is None else f"{ratio(a, b):.2f}×"
        out.append(f"| {server} | {n:,} | {mode} | {f2(rl)} | {f2(zl)} | {fr(zl, rl)} | {f2(r50)} | {f2(z50)} | {fr(z50, r50)} | {f2(r99)} | {f2(z99)} | {fr(z99, r99)} | {len(ref)}, {len(zk)} | {bound} |")
        checks.append((f"fidelity fan-out, {server}, {n:,}, {mode}", ratio(zl, rl)))
        checks.append((f"fidelity lag p50, {server}, {n:,}, {mode}", ratio(z50, r50)))
    return "\n".join(out), checks


def check_fidelity(name, value):
    """Within 1.15× either way: a ratio far below 1 means the reference itself was held up (it is one
    thread; on a busy machine it may sleep through a round), which is no proof of fidelity either."""
    if value is None:
        verdicts.append(f"| {name} | n/a | 0.87–1.15 | not measured |")
    elif value < 1 / 1.15:
        verdicts.append(f"| {name} | {value:.2f} | 0.87–1.15 | reference slower: inconclusive |")
    else:
        verdicts.append(f"| {name} | {value:.2f} | 0.87–1.15 | {'met' if value <= 1.15 else 'NOT met'} |")


READ_TITLE = "## 8. Curve: throughput against read percentage"
FANOUT_TITLE = "## 9. Curve: watch fan-out against watchers"


def curve_sections():
    """Sections 8 and 9 from `zkstorm sweep` rows: medians over rounds per server and point."""
    pts = collections.defaultdict(list)
    for r in rows:
        if r["group"] in ("curve-read", "curve-fanout"):
            pts[(r["group"], r["server"], r.get("kind"), r["value"])].append(r)
    floors = collections.defaultdict(list)
    for r in rows:
        if r["group"] == "curve-floor":
            floors[r["for_watchers"]].append(r["last_p50_us"])
    if not pts:
        return None, []
    m = lambda key, f: (lambda xs: statistics.median(xs) if xs else None)([x[f] for x in pts.get(key, []) if x.get(f) is not None])
    f0 = lambda v: "n/a" if v is None else f"{v:,.0f}"
    f2 = lambda v: "n/a" if v is None else f"{v:,.2f}"
    fr = lambda a, b: "n/a" if ratio(a, b) is None else f"{ratio(a, b):.2f}×"
    checks = []
    out = [READ_TITLE + "\n"]
    out.append("The ZooKeeper paper's figure on this machine: `zkstorm sweep --vary read-pct=0:100:10` of a closed loop (8 sessions")
    out.append("× 16 requests in flight, 1,000 uniform keys of 100 bytes; reads are getData, writes setData), the three targets'")
    out.append("points interleaved. Real ZooKeeper fsyncs every write to its log (on this machine's shared disk).\n")
    out.append("| read % | built-in ops/s | real standalone ops/s | real 3-node quorum ops/s | built-in/standalone | quorum/standalone | built-in p99 ms | standalone p99 ms | quorum p99 ms |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for v in sorted({k[3] for k in pts if k[0] == "curve-read"}):
        b, r, q = (m(("curve-read", s, None, v), "throughput") for s in ("builtin", "real", "quorum"))
        bp, rp, qp = (m(("curve-read", s, None, v), "p99_us") for s in ("builtin", "real", "quorum"))
        ms = lambda x: None if x is None else x / 1000
        out.append(f"| {v:g} | {f0(b)} | {f0(r)} | {f0(q)} | {fr(b, r)} | {fr(q, r)} | {f2(ms(bp))} | {f2(ms(rp))} | {f2(ms(qp))} |")
    out.append("\n" + FANOUT_TITLE + "\n")
    out.append("`zkstorm sweep --vary watchers=N` of a watch storm (N sessions each watching one znode, one write per round from a")
    out.append("dedicated writer, 11 rounds, the first a warm-up), on both servers, interleaved; fan-out = the write to the last")
    out.append("watcher's notification, median of rounds. One-shot watches are getData watches re-armed as each event arrives;")
    out.append("persistent is addWatch mode 0 on the znode; recursive is addWatch mode 1 on its parent with a child written. The")
    out.append("floor is scripts/peers/fanout_floor.c at the same N (section 4). The largest N is what the open-files limit allows")
    out.append("the watchers' process.\n")
    out.append("| watches | watchers | built-in fan-out ms | real fan-out ms | loopback floor ms | built-in/floor | real/floor | built-in/real | built-in lag p99 ms | real lag p99 ms | missed (built-in, real) |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|")
    kinds = {"data": "one-shot", "persistent": "persistent", "recursive": "recursive"}
    for kind in kinds:
        for v in sorted({k[3] for k in pts if k[0] == "curve-fanout" and k[2] == kind}):
            ms = lambda x: None if x is None else x / 1000
            b, r = (ms(m(("curve-fanout", s, kind, v), "last_p50_us")) for s in ("builtin", "real"))
            bl, rl = (ms(m(("curve-fanout", s, kind, v), "lag_p99_us")) for s in ("builtin", "real"))
            fl = ms(statistics.median(floors[int(v)])) if floors.get(int(v)) else None
            miss = lambda s: sum(x.get("missing", 0) for x in pts.get(("curve-fanout", s, kind, v), []))
            out.append(f"| {kinds[kind]} | {int(v):,} | {f2(b)} | {f2(r)} | {f2(fl)} | {fr(b, fl)} | {fr(r, fl)} | {fr(b, r)} | {f2(bl)} | {f2(rl)} | {miss('builtin')}, {miss('real')} |")
            checks.append((f"curve: built-in/floor fan-out, {kinds[kind]}, {int(v):,}", ratio(b, fl)))
    return "\n".join(out), checks


def replace_section(text, title, block, next_titles):
    """Swaps the section headed `title` (up to the next of `next_titles` or '## Targets') for `block`."""
    start = text.find(title)
    if start < 0:
        targets = text.find("## Targets")
        return text[:targets] + block + "\n" + text[targets:] if targets >= 0 else text + "\n" + block
    end = len(text)
    for t in list(next_titles) + ["## Targets"]:
        i = text.find(t, start + len(title))
        if 0 <= i < end:
            end = i
    # Stop too at the first later section the block does not itself hold (a block may span several
    # sections, as the curves do; the sections after them are someone else's).
    held = {line for line in block.splitlines() if line.startswith("## ")}
    i = text.find("\n## ", start + len(title))
    while 0 <= i < end:
        heading = text[i + 1 :].split("\n", 1)[0]
        if heading not in held:
            end = i + 1
            break
        i = text.find("\n## ", i + 1)
    return text[:start] + block + "\n" + text[end:]


TLS_TITLE = "## 10. TLS and SASL cost"


def tls_section():
    """Section 10 as scripts/peers/tls_bench.sh printed it (ZKSTORM_BENCH_TLS names the file), with the
    issue's goal checked per server: TLS keeps at least 75% of plaintext getData throughput at 64 in flight."""
    path = os.environ.get("ZKSTORM_BENCH_TLS")
    if not path or not os.path.exists(path) or os.path.getsize(path) == 0:
        return None, []
    text = open(path).read().strip()
    checks = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 8 and cells[1] in ("tls", "tls+sasl"):
            try:
                checks.append((f"{cells[1].upper()}/plaintext getData throughput, {cells[0]}, 64 in flight", float(cells[4])))
            except ValueError:
                pass
    return text, checks


def write_block(title, section, what, summary=""):
    """Replaces section `title` of BENCHMARKS.md with `section`, when it was measured, and `summary`."""
    text = open("BENCHMARKS.md").read()
    load = os.getloadavg()[2]
    block = (f"{section}\n\n{what} by `{command.strip()}` on {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC"
             f" (load average {load:.1f} on {os.cpu_count()} cores when written).\n" + (f"\n{summary}\n" if summary else ""))
    open("BENCHMARKS.md", "w").write(replace_section(text, title, block, []))


REPLAY_TITLE = "## 11. Transaction logs: inspect speed and replay pacing"


def replay_section():
    """Section 11 as scripts/peers/replay_bench.sh printed it (ZKSTORM_BENCH_REPLAY names the file), with
    the issue's goals: inspect reads at least 200 MB/s; replay of a 1,000 writes/s log at 20x keeps the
    rate (at least 95% of 20,000 writes/s) with p99 schedule lag at most 5 ms."""
    path = os.environ.get("ZKSTORM_BENCH_REPLAY")
    if not path or not os.path.exists(path) or os.path.getsize(path) == 0:
        return None, []
    text = open(path).read().strip()
    medians = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3:
            try:
                medians[cells[0]] = float(cells[1])
            except ValueError:
                pass
    checks = [
        ("txnlog inspect, MB/s", medians.get("inspect, MB/s of log"), 200, True),
        ("replay 20× of 1,000 writes/s: writes/s achieved", medians.get("replay 20×: writes/s achieved (asked: 20000)"), 19000, True),
        ("replay 20× of 1,000 writes/s: p99 schedule lag, ms", medians.get("replay 20×: schedule lag p99, ms"), 5, False),
    ]
    return text, checks


MICRO_TITLE = "## 12. Micro-benchmarks: time and mallocs per operation"


def micro_section():
    """Section 12 as scripts/peers/micro_report.py wrote it (ZKSTORM_BENCH_MICRO names the file), and how
    many benchmarks regressed against Benchmarks/Thresholds (the goal: none)."""
    path = os.environ.get("ZKSTORM_BENCH_MICRO")
    if not path or not os.path.exists(path) or os.path.getsize(path) == 0:
        return None, None
    text = open(path).read().strip()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    return text, sum(1 for line in rows if "REGRESSION" in line or "NOT RUN" in line)


def finish_step(title, section, name):
    """Ends a run of one step (--micro, --only replay|tls): prints its section and verdicts, and replaces
    that section of BENCHMARKS.md in a full (not --quick, not --no-write) run."""
    summary = "\n".join(["| target | measured | goal | verdict |", "|---|---|---|---|"] + verdicts)
    print(section + "\n\n" + summary)
    if write and not quick:
        write_block(title, section, "Measured", summary)
        print(f"\nwrote the {name} section of BENCHMARKS.md")
    sys.exit(0)


if only == "micro":
    section, regressions = micro_section()
    if section is None:
        sys.exit("bench_report: no micro-benchmark section (scripts/peers/micro_report.py wrote nothing)")
    check("micro-benchmarks over their Benchmarks/Thresholds", regressions, 0, higher_is_better=False)
    finish_step(MICRO_TITLE, section, "micro-benchmark")

if only == "replay":
    section, checks = replay_section()
    if section is None:
        sys.exit("bench_report: no replay section (scripts/peers/replay_bench.sh printed nothing)")
    for name, value, target, higher in checks:
        check(name, value, target, higher_is_better=higher)
    finish_step(REPLAY_TITLE, section, "replay")

if only == "tls":
    section, checks = tls_section()
    if section is None:
        sys.exit("bench_report: no TLS section (scripts/peers/tls_bench.sh printed nothing)")
    for name, value in checks:
        check(name, value, 0.75)
    finish_step(TLS_TITLE, section, "TLS")

if only == "curves":
    section, checks = curve_sections()
    if section is None:
        sys.exit("bench_report: no curve rows")
    print(section)
    if write and not quick:
        write_block(READ_TITLE, section, f"Curves ({rounds} round(s) of the read sweep) measured")
        print("\nwrote the curve sections of BENCHMARKS.md")
    sys.exit(0)


if only == "fidelity":
    section, checks = fidelity_section()
    if section is None:
        sys.exit("bench_report: no fidelity rows")
    for name, value in checks:
        check_fidelity(name, value)
    summary = "\n".join(["| target | measured | goal | verdict |", "|---|---|---|---|"] + verdicts)
    print(section + "\n\n" + summary)
    if write and not quick:
        text = open("BENCHMARKS.md").read()
        load = os.getloadavg()[2]
        block = (f"{section}\n\nFidelity measured by `{command.strip()}` on {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC"
                 f" ({rounds} interleaved rounds; load average {load:.1f} on {os.cpu_count()} cores when written).\n\n{summary}\n")
        start = text.find(FIDELITY_TITLE)
        if start < 0:
            targets = text.find("## Targets")
            text = text[:targets] + block + "\n" + text[targets:] if targets >= 0 else text + "\n" + block
        else:
            end = text.find("\n## ", start + len(FIDELITY_TITLE))
            text = text[:start] + block + ("\n" + text[end + 1:] if end >= 0 else "")
        open("BENCHMARKS.md", "w").write(text)
        print("\nwrote the fidelity section of BENCHMARKS.md")
    sys.exit(0)


lines.append("## 1. Client: one session, one znode, 100-byte values (median of rounds)\n")
lines.append("| server | op | in flight | zkstorm ops/s | C ops/s | kazoo ops/s | zkstorm p50 µs | C p50 µs | kazoo p50 µs | zkstorm/C ops | zkstorm/kazoo ops | zkstorm/C p50 |")
lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
for server in ("real", "builtin"):
    for op in ("get", "set"):
        for inflight in (64, 1):
            k = lambda tool: ("client", server, tool, op, inflight, 1, None)
            z, c, p = (med(k(t), "ops_per_sec") for t in ("zkstorm", "c", "kazoo"))
            zl, cl, pl = (med(k(t), "p50_us") for t in ("zkstorm", "c", "kazoo"))
            lines.append(f"| {server} | {op} | {inflight} | {fmt(z)} | {fmt(c)} | {fmt(p)} | {fmt(zl)} | {fmt(cl)} | {fmt(pl)} | {fmt(ratio(z, c))}× | {fmt(ratio(z, p))}× | {fmt(ratio(zl, cl))}× |")
            label = f"{server} {op}"
            if inflight == 64:
                check(f"zkstorm/C throughput, {label}, 64 in flight", ratio(z, c), 1.0)
                check(f"zkstorm/kazoo throughput, {label}, 64 in flight", ratio(z, p), 3.0)
            else:
                check(f"zkstorm/C p50, {label}, 1 in flight", ratio(zl, cl), 1.0, higher_is_better=False)

floor = med(("floor", "none", "tcp-echo", None, 1, 1, None), "p50_us")
lines.append("\n## 2. Server: zkstorm's driver, 4 sessions × 64 in flight\n")
lines.append("| op | real ZooKeeper ops/s | built-in ops/s | built-in/real | real CPU µs/op | built-in CPU µs/op | CPU ratio |")
lines.append("|---|---|---|---|---|---|---|")
for op in ("get", "set"):
    r = med(("server", "real", "zkstorm", op, 64, 4, None), "ops_per_sec")
    b = med(("server", "builtin", "zkstorm", op, 64, 4, None), "ops_per_sec")
    rc = med(("server", "real", "zkstorm", op, 64, 4, None), "server_cpu_us_per_op")
    bc = med(("server", "builtin", "zkstorm", op, 64, 4, None), "server_cpu_us_per_op")
    lines.append(f"| {op} | {fmt(r)} | {fmt(b)} | {fmt(ratio(b, r))}× | {fmt(rc)} | {fmt(bc)} | {fmt(ratio(bc, rc))}× |")
    check(f"built-in/real throughput, {op} (zkstorm driver)", ratio(b, r), 4.0)
    check(f"built-in/real server CPU per op, {op}", ratio(bc, rc), 0.25, higher_is_better=False)
    rcl = med(("client", "real", "c", op, 64, 1, None), "ops_per_sec")
    bcl = med(("client", "builtin", "c", op, 64, 1, None), "ops_per_sec")
    lines.append(f"| {op}, C client driver (1 × 64) | {fmt(rcl)} | {fmt(bcl)} | {fmt(ratio(bcl, rcl))}× | | | |")

lines.append("\n## 3. Floor: one request in flight\n")
lines.append("| what | p50 µs |")
lines.append("|---|---|")
lines.append(f"| loopback TCP echo, 100 bytes | {fmt(floor)} |")
for op in ("get", "set"):
    b1 = med(("client", "builtin", "zkstorm", op, 1, 1, None), "p50_us")
    lines.append(f"| built-in server {op}, zkstorm client | {fmt(b1)} ({fmt(ratio(b1, floor))}× floor) |")
    if op == "get":
        check("built-in getData p50 / TCP echo p50, 1 in flight", ratio(b1, floor), 1.5, higher_is_better=False)

lines.append("\n## 4. Watch fan-out: sessions watching one znode, time to the last notification\n")
lines.append("The floor is bare C on loopback TCP: one process writes a 50-byte message to each of N server-side sockets from")
lines.append("one thread, another process reads them all with epoll (scripts/peers/fanout_floor.c); no ZooKeeper protocol, no")
lines.append("watch bookkeeping.\n")
lines.append("| watchers | real median µs | built-in median µs | built-in/real | loopback floor µs | built-in/floor | missing (real, built-in) |")
lines.append("|---|---|---|---|---|---|---|")
for w in (1000, 10000):
    r = med(("fanout", "real", "zkstorm", None, None, 1, w), "last_p50_us")
    b = med(("fanout", "builtin", "zkstorm", None, None, 1, w), "last_p50_us")
    rm = sum(x.get("missing", 0) for x in groups.get(("fanout", "real", "zkstorm", None, None, 1, w), []))
    bm = sum(x.get("missing", 0) for x in groups.get(("fanout", "builtin", "zkstorm", None, None, 1, w), []))
    if r is None and b is None:
        continue
    floors = [x for key, xs in groups.items() if key[0] == "fanout-floor" for x in xs if x.get("for_watchers") == w]
    fl = statistics.median([x["last_p50_us"] for x in floors]) if floors else None
    note = "" if not floors or floors[0]["watchers"] == w else f" ({floors[0]['watchers']:,} connections: open-files limit)"
    lines.append(f"| {w:,} | {fmt(r)} | {fmt(b)} | {fmt(ratio(b, r))}× | {fmt(fl)}{note} | {fmt(ratio(b, fl))}× | {rm}, {bm} |")
    if w == 10000:
        check("built-in fan-out to 10,000, median ms", None if b is None else b / 1000, 25, higher_is_better=False)
        check("built-in/real fan-out to 10,000", ratio(b, r), 0.5, higher_is_better=False)

lines.append("\n## 5. Generator footprint\n")
for r in (r for key, rs in groups.items() if key[0] == "footprint" for r in rs):
    lines.append(f"- {r['sessions']:,} idle sessions with one watch each: {r['bytes_per_session'] / 1024:.1f} KiB of zkstorm RSS per session")
    check("generator KiB per idle session with a watch", r["bytes_per_session"] / 1024, 8, higher_is_better=False)
    if r.get("hold_s"):
        lines.append(f"- held idle {r['hold_s']:.0f} s (negotiated timeout {r['negotiated_timeout_ms']} ms, a ping due after a third of it idle):"
                     f" {r['pings_answered']:,} of {r['pings_sent']:,} pings answered, the latest left {r['max_ping_lateness_ms']:.0f} ms after it was due,"
                     f" the slowest answer took {r['max_ping_round_trip_ms']:.0f} ms; {r['connection_losses']} connections lost, {r['reconnects']} reconnects")
        due = r["negotiated_timeout_ms"] / 3
        check(f"{r['sessions']:,} idle sessions: latest ping lateness ÷ ping interval", r["max_ping_lateness_ms"] / due if due else None, 0.25, higher_is_better=False)
        check(f"{r['sessions']:,} idle sessions: connections lost", r["connection_losses"], 0, higher_is_better=False)

lines.append("\n## 6. Built-in server memory\n")
for r in (r for key, rs in groups.items() if key[0] == "memory" for r in rs):
    if "rss_after_kb" not in r:
        continue
    lines.append(f"- {r['znodes']:,} znodes of {r['value_size']} bytes (created at {r['creates_per_sec']:,.0f}/s): "
                 f"{r['rss_after_kb'] / 1024:.0f} MiB resident, peak {r['rss_peak_kb'] / 1024:.0f} MiB "
                 f"(empty server: {r['rss_before_kb'] / 1024:.0f} MiB)")
    if r["znodes"] >= 1_000_000:
        check("built-in RSS with 1,000,000 znodes of 100 bytes, MB", r["rss_after_kb"] * 1024 / 1e6, 600, higher_is_better=False)

section, fidelity_checks = fidelity_section()
if section is not None:
    lines.append("\n" + section)
    for name, value in fidelity_checks:
        check_fidelity(name, value)

section, curve_checks = curve_sections()
if section is not None:
    lines.append("\n" + section)
    for name, value in curve_checks:
        check(name, value, 1.2, higher_is_better=False)

section, tls_checks = tls_section()
if section is not None:
    lines.append("\n" + section)
    for name, value in tls_checks:
        check(name, value, 0.75)

section, micro_regressions = micro_section()
if section is not None:
    lines.append("\n" + section)
    check("micro-benchmarks over their Benchmarks/Thresholds", micro_regressions, 0, higher_is_better=False)

body = "\n".join(lines)
summary = "\n".join(["| target | measured | goal | verdict |", "|---|---|---|---|"] + verdicts)
print(body)
print("\n## Targets\n")
print(summary)

def kept_sections(body):
    """The sections of the current BENCHMARKS.md that this run does not write (those only a step of their
    own measures: replay, herd, watch scale), carried over as they are so a full run does not drop them."""
    try:
        old = open("BENCHMARKS.md").read()
    except OSError:
        return ""
    titles = {line.split(".", 1)[-1].strip() for line in body.splitlines() if line.startswith("## ")}
    kept = []
    for chunk in ("\n" + old).split("\n## ")[1:]:
        title = chunk.splitlines()[0]
        name = title.split(".", 1)[-1].strip()
        if title.startswith("Targets") or name in titles:
            continue
        kept.append("## " + chunk.rstrip())
    return "".join("\n\n" + section for section in kept)


if write and not quick:
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    with open("BENCHMARKS.md", "w") as f:
        f.write("# zkstorm benchmarks\n\n")
        f.write("Generated by `scripts/bench`; do not edit by hand. Machines are noisy: every figure is the median of\n")
        f.write(f"{rounds} interleaved rounds, and ratios compare runs made minutes apart on the same machine.\n\n")
        f.write(f"- command: `{command.strip()}`\n- date: {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC\n")
        f.write(f"- machine: {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.system()} {platform.release()}\n")
        f.write("- peers: Apache ZooKeeper 3.8.0 (Debian), its C client libzookeeper_mt (scripts/peers/zkbench.c), kazoo (PyPI)\n\n")
        f.write("What the ratios mean: `zkstorm/C ops` > 1 means our client pushes more requests per second through the same\n")
        f.write("server than the C client; `zkstorm/C p50` < 1 means a lower median round trip; `built-in/real` > 1 for\n")
        f.write("throughput means the built-in server serves more than real ZooKeeper under the same driver; the CPU ratio\n")
        f.write("compares server CPU time per operation read from /proc.\n\n")
        f.write(body + kept_sections(body) + "\n\n## Targets\n\n" + summary + "\n")
    print("\nwrote BENCHMARKS.md")
