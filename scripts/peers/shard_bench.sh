#!/usr/bin/env bash
# The sharded watch storm's scale figure (scripts/bench --only shards): against one `zkstorm serve`,
# 3 shard processes × 6,000 data-watch sessions on one znode (18,000 watchers), started 1.5 s apart,
# meeting at the barrier on the server and merged with `zkstorm report --merge`; then one process with
# 6,000 watchers alone on the same server. Each process writes its result JSON into OUT:
# shard-I.json, merged.json and single.json, with manifest.json naming the setup (scale_report.py shards
# reads them).
#
#   scripts/peers/shard_bench.sh --bin ZKSTORM --out DIR [--quick] [--watchers N] [--rounds R]
#
# --quick: 300 watchers per process and 4 rounds 300 ms apart (a smoke run of a few seconds).
# Each process stays within 10,000 sessions, so its clients share the source address 127.0.0.1 (the
# client spreads a process's sessions over 127.0.0.x only beyond that; 18,000 ports to one server port
# fit one address's ephemeral range).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="" out="" quick=0 watchers=6000 rounds=10 interval=1s shards=3 stagger=1.5
while (($#)); do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --watchers) watchers=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "shard_bench: unknown option $1 (--bin ZKSTORM, --out DIR, --quick, --watchers N, --rounds R)" >&2; exit 64 ;;
  esac
done
[ -x "$bin" ] || { echo "shard_bench: --bin must name the zkstorm binary (got \"$bin\")" >&2; exit 64; }
[ -n "$out" ] && [ -d "$out" ] || { echo "shard_bench: --out must name an existing directory (got \"$out\")" >&2; exit 64; }
[[ $watchers =~ ^[1-9][0-9]*$ ]] || { echo "shard_bench: --watchers $watchers: expected a positive count" >&2; exit 64; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "shard_bench: --rounds $rounds: expected a positive count" >&2; exit 64; }
if ((quick)); then watchers=300 rounds=4 interval=300ms; fi
# Every process holds its sessions plus a few; the server holds all of them.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
need=$((shards * watchers + 1000))
(($(ulimit -n) >= need)) || { echo "shard_bench: $((shards * watchers)) sessions need an open-files limit of $need (ulimit -n is $(ulimit -n))" >&2; exit 69; }

work=$(mktemp -d /tmp/zkstorm-shard-bench.XXXXXX)
serve_pid=""
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --port "$port" >"$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
target="127.0.0.1:$port"

workload() { # watchers, file
  cat >"$2" <<EOF
name: shard-bench
sessions: 0
duration: 5m
warmup: 500ms
watches:
  kind: data
  watchers: $1
  znodes: 1
  storm: {rounds: $rounds, interval: $interval, writer: dedicated, timeout: 10s}
EOF
}

workload $((shards * watchers)) "$work/sharded.yaml"
run_id="shard-bench-$$-$RANDOM"
for i in $(seq 0 $((shards - 1))); do
  ((i > 0)) && sleep "$stagger"
  "$bin" run "$work/sharded.yaml" --target "$target" --shard "$i/$shards" --run-id "$run_id" --quiet \
    --json "$out/shard-$i.json" >"$work/shard-$i.txt" 2>"$work/shard-$i.log" &
  pids+=($!)
done
for i in $(seq 0 $((shards - 1))); do
  wait "${pids[$i]}" ||
    { echo "shard_bench: shard $i failed: $(tail -n 5 "$work/shard-$i.log")" >&2; exit 70; }
done
pids=()
files=()
for i in $(seq 0 $((shards - 1))); do files+=("$out/shard-$i.json"); done
"$bin" report --merge "${files[@]}" --json "$out/merged.json" >"$work/merged.txt" 2>"$work/merge.log" ||
  { echo "shard_bench: report --merge failed: $(tail -n 5 "$work/merge.log")" >&2; exit 70; }

workload "$watchers" "$work/single.yaml"
"$bin" run "$work/single.yaml" --target "$target" --quiet --json "$out/single.json" >"$work/single.txt" 2>"$work/single.log" ||
  { echo "shard_bench: the single process failed: $(tail -n 5 "$work/single.log")" >&2; exit 70; }

cat >"$out/manifest.json" <<EOF
{"shards": $shards, "watchers_per_process": $watchers, "rounds": $rounds, "interval": "$interval", "stagger_s": $stagger, "znodes": 1}
EOF
