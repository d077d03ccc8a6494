#!/usr/bin/env bash
# Transaction-log speed: how fast `zkstorm txnlog inspect` reads a log, and how well `zkstorm replay`
# keeps the schedule of a 1,000 writes/s log replayed at 20x (20,000 writes/s) against the built-in server.
# Both logs are written by scripts/synth-txnlog (ZooKeeper 3.8's FileTxnLog format, Adler32, digests).
# Interleaved rounds, medians; the load average is printed with each round, as the machine may be shared.
#
#   scripts/peers/replay_bench.sh [--rounds N] [--quick] [--bin PATH]
#
# Prints a Markdown section for BENCHMARKS.md on stdout (scripts/bench --only replay writes it).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/peers/lib.sh
bench_options replay_bench "$@"
work=$(mktemp -d /tmp/zkstorm-replay-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
# A 300 s log replays in 15 s: long enough that one scheduler hiccup does not decide a round's p99.
seconds=300
inspect_seconds=60
inspect_rate=4000
((quick)) && seconds=10 && inspect_seconds=10 && inspect_rate=2000
echo "replay_bench: writing the logs (${seconds} s at 1,000 writes/s; ${inspect_seconds} s at ${inspect_rate}/s for inspect)" >&2
python3 scripts/synth-txnlog "$work/log.1" --rate 1000 --seconds "$seconds" --sessions 16 >&2
mkdir "$work/inspect"
python3 scripts/synth-txnlog "$work/inspect/log.1" --rate "$inspect_rate" --seconds "$inspect_seconds" --sessions 64 \
  --preallocate 64 >&2

# The machine's own pacing floor (scripts/peers/pace_floor.c): a bare C thread sleeping to deadlines
# 1 ms apart, once alone and once beside each replay, so the pacer's tail reads against what the
# scheduler does to any pacer under the same load.
cc -O2 -o "$work/pace_floor" scripts/peers/pace_floor.c

for ((r = 1; r <= rounds; r++)); do
  # Wall time and the process's own CPU time (user + system): on a shared machine the CPU time says
  # what inspect costs, the wall time what it got.
  python3 - "$bin" "$work" "$r" >>"$work/rounds.jsonl" <<'PY'
import json, os, resource, subprocess, sys, time
bin, work, r = sys.argv[1:]
load = os.getloadavg()[0]
before = resource.getrusage(resource.RUSAGE_CHILDREN)
start = time.monotonic()
subprocess.run([bin, "txnlog", "inspect", os.path.join(work, "inspect"), "--json"], check=True,
               stdout=open(os.path.join(work, f"inspect-{r}.json"), "w"))
wall = time.monotonic() - start
after = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
print(json.dumps({"kind": "inspect", "round": int(r), "seconds": wall, "cpu": cpu, "load": load}))
PY
  load=$(cut -d' ' -f1 /proc/loadavg)
  "$work/pace_floor" 1000 3 >"$work/floor-idle-$r.json"
  "$work/pace_floor" 1000 600 "$work/floor-beside-$r.samples" >/dev/null &
  floor=$!
  "$bin" replay "$work/log.1" --speed 20 --quiet --json "$work/replay-$r.json" >/dev/null
  kill -TERM "$floor"
  wait "$floor"
  echo "{\"kind\": \"replay\", \"round\": $r, \"file\": \"$work/replay-$r.json\", \"load\": $load," \
    "\"floor_idle\": $(cat "$work/floor-idle-$r.json"), \"floor_samples\": \"$work/floor-beside-$r.samples\"}" \
    >>"$work/rounds.jsonl"
  echo "replay_bench: round $r of $rounds done (load $load)" >&2
done

python3 - "$work" "$rounds" <<'PY'
import json, os, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
rows = [json.loads(line) for line in open(os.path.join(work, "rounds.jsonl"))]
inspection = json.load(open(os.path.join(work, "inspect-1.json")))
size = sum(f["bytes"] for f in inspection["files"])
padded = os.path.getsize(os.path.join(work, "inspect", "log.1"))
mbps = [size / 1e6 / r["seconds"] for r in rows if r["kind"] == "inspect"]
cpu_mbps = [size / 1e6 / r["cpu"] for r in rows if r["kind"] == "inspect"]
replays = [(json.load(open(r["file"])), r["load"]) for r in rows if r["kind"] == "replay"]
floor_idle = [r["floor_idle"]["p99_ms"] for r in rows if r["kind"] == "replay"]
# The floor beside a replay is judged over the replay's pacing window only: the last replaySeconds of
# its wakes (1 ms apart), not the planning and connecting before it.
floor_beside, floor_late = [], []
for r, (j, _) in zip((r for r in rows if r["kind"] == "replay"), replays):
    samples = [int(x) for x in open(r["floor_samples"]).read().split()]
    window = sorted(samples[-max(1, int(j["replaySeconds"] * 1000)):])
    floor_beside.append(window[len(window) * 99 // 100] / 1e6)
    floor_late.append(100 * sum(x > 1_000_000 for x in window) / len(window))
rate = [j["writes"] / j["replaySeconds"] for j, _ in replays]
p50 = [j["scheduleLag"]["p50"] / 1000 for j, _ in replays]
p99 = [j["scheduleLag"]["p99"] / 1000 for j, _ in replays]
late = [100 * j["lateStarts"] / max(j["steps"], 1) for j, _ in replays]
loads = [l for _, l in replays]
first = replays[0][0]
def each(xs, f="{:.0f}"):
    return " ".join(f.format(x) for x in xs)
print("## 11. Transaction logs: inspect speed and replay pacing (built-in server)")
print()
print(f"`zkstorm txnlog inspect --json` over a {size / 1e6:.0f} MB log of {inspection['entries']:,} entries followed by "
      f"64 MiB of ZooKeeper's zero padding ({padded / 2**20:.0f} MiB file), and `zkstorm replay --speed 20` of a "
      f"{first['loggedSeconds']:.0f} s log written at 1,000 writes/s ({first['writes']:,} writes, {first['sessions']} "
      f"sessions) against the built-in server in the same process: schedule lag is each step's send time minus its "
      f"intended time. Logs from scripts/synth-txnlog; median of {rounds} interleaved rounds.")
print()
print("| measure | median | each round |")
print("|---|---|---|")
print(f"| inspect, MB/s of log | {statistics.median(mbps):.0f} | {each(mbps)} |")
print(f"| inspect, MB per CPU second | {statistics.median(cpu_mbps):.0f} | {each(cpu_mbps)} |")
print(f"| replay 20×: writes/s achieved (asked: 20000) | {statistics.median(rate):.0f} | {each(rate)} |")
print(f"| replay 20×: schedule lag p50, ms | {statistics.median(p50):.3f} | {each(p50, '{:.3f}')} |")
print(f"| replay 20×: schedule lag p99, ms | {statistics.median(p99):.3f} | {each(p99, '{:.3f}')} |")
print(f"| replay 20×: late starts (> 1 ms), % of steps | {statistics.median(late):.2f} | {each(late, '{:.2f}')} |")
print(f"| pacing floor alone: wake-up lateness p99, ms | {statistics.median(floor_idle):.3f} | {each(floor_idle, '{:.3f}')} |")
print(f"| pacing floor beside the replay: wake-up lateness p99, ms | {statistics.median(floor_beside):.3f} | {each(floor_beside, '{:.3f}')} |")
print(f"| pacing floor beside the replay: wakes > 1 ms late, % | {statistics.median(floor_late):.2f} | {each(floor_late, '{:.2f}')} |")
print(f"| replay p99 ÷ floor p99 beside it | {statistics.median(p99) / max(statistics.median(floor_beside), 1e-3):.1f}× | |")
print(f"| load average (1 min) at each replay | | {each(loads, '{:.2f}')} |")
print()
print("The pacing floor is scripts/peers/pace_floor.c: one C thread sleeping to absolute deadlines 1 ms apart "
      "(clock_nanosleep), run alone for 3 s and then beside each replay, judged over the replay's pacing window "
      "(its last replaySeconds of wakes, not the planning before it). It keeps no "
      "protocol and no sockets, so its lateness is the scheduler's alone: a pacer on this machine cannot be "
      "more punctual than the floor beside it.")
PY
