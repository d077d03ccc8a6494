#!/usr/bin/env bash
# Watch-count scaling (scripts/bench --only watchscale): `zkstorm bench watches` at each count on the
# built-in server (`zkstorm serve`, fresh for each count; memory = its RSS) and on real ZooKeeper 3.8
# standalone through scripts/ensemble (1 GiB heap; memory = JVM heap used after a full GC, by jcmd).
# Each count spreads over sessions of 10,000 data watches (one per znode). Prints one JSON line per
# (server, count) on stdout. Then the same watches across a reconnect ("mode": "reconnect"): one session
# of 10^5 watches and 10^6 over 100 sessions, each armed, then their connections broken (the built-in
# server's connections dropped by SIGUSR1; the quorum member of the first session killed, on a 3-node
# quorum), then fired once every session is back: restored watches, setWatches2 batches, recovery.
#
#   scripts/peers/watchscale_bench.sh --bin ZKSTORM [--counts "10000 100000 1000000"]
#                                     [--reconnect "100000:100000 1000000:10000"] [--quick]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="" counts="10000 100000 1000000" reconnect="100000:100000 1000000:10000"
while (($#)); do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --counts) counts=$2; shift 2 ;;
    --reconnect) reconnect=$2; shift 2 ;;
    --quick) counts="10000 100000" reconnect="20000:20000 100000:10000"; shift ;;
    *) echo "watchscale_bench: unknown option $1 (--bin ZKSTORM, --counts LIST, --reconnect LIST, --quick)" >&2; exit 64 ;;
  esac
done
[ -x "$bin" ] || { echo "watchscale_bench: --bin must name the zkstorm binary (got \"$bin\")" >&2; exit 64; }
command -v jcmd >/dev/null || { echo "watchscale_bench: jcmd is missing (a JDK; scripts/install-deps)" >&2; exit 69; }
work=$(mktemp -d /tmp/zkstorm-watchscale.XXXXXX)
export ZKSTORM_ENSEMBLE_DIR="$work/zk" ZKSTORM_ENSEMBLE_BASE_PORT=$((20000 + RANDOM % 10000)) ZKSTORM_ENSEMBLE_HEAP=1g
serve_pid=""
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
  scripts/ensemble stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
label() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["server"]=sys.argv[2]; print(json.dumps(d))' "$1" "$2"; }
measure() { # server, target, memory command, count [znodes [interrupt command]]
  local line znodes=${5:-$(($4 < 10000 ? $4 : 10000))}
  if line=$("$bin" bench watches --target "$2" --watches "$4" --znodes "$znodes" --memory-command "$3" \
    ${6:+--interrupt "$6"} 2>>"$work/errors.log" | tail -n 1) && [ -n "$line" ]; then
    label "$line" "$1"
  else
    echo "watchscale_bench: $1 at $4 watches${6:+ across a reconnect} failed: $(tail -n 3 "$work/errors.log")" >&2
  fi
}
start_serve() {
  port=$(free_port)
  "$bin" serve --port "$port" >"$work/serve.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
}
stop_serve() {
  kill "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
  serve_pid=""
}

real=$(scripts/ensemble start 1 | tail -n 1) || { echo "watchscale_bench: real ZooKeeper did not start" >&2; exit 69; }
real_pid=$(cat "$ZKSTORM_ENSEMBLE_DIR/node1/pid")
heap="jcmd $real_pid GC.run >/dev/null && jcmd $real_pid GC.heap_info | python3 scripts/peers/scale_report.py heap"
rss() { echo "awk '/^VmRSS:/ {print \$2 * 1024}' /proc/$1/status"; }
for n in $counts; do
  start_serve
  measure builtin "127.0.0.1:$port" "$(rss "$serve_pid")" "$n"
  stop_serve
  measure real "$real" "$heap" "$n"
done
scripts/ensemble stop >/dev/null 2>&1 || true

[ -n "$reconnect" ] || exit 0
mark() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["mode"]="reconnect"; print(json.dumps(d))' "$1"; }
quorum=$(scripts/ensemble start 3 | tail -n 1) || { echo "watchscale_bench: the quorum did not start" >&2; exit 69; }
base=$ZKSTORM_ENSEMBLE_BASE_PORT
# The member of the first watching session: its client port less the base is its node number.
kill_member='scripts/ensemble kill $(( ${ZKSTORM_WATCHER_HOST##*:} - '$base' )) >/dev/null'
for spec in $reconnect; do
  n=${spec%%:*} znodes=${spec##*:}
  start_serve
  line=$(measure builtin "127.0.0.1:$port" "$(rss "$serve_pid")" "$n" "$znodes" "kill -USR1 $serve_pid")
  stop_serve
  [ -n "$line" ] && mark "$line"
  line=$(measure real "$quorum" "true" "$n" "$znodes" "$kill_member")
  [ -n "$line" ] && mark "$line"
  for i in 1 2 3; do # bring the killed member back for the next count
    kill -0 "$(cat "$ZKSTORM_ENSEMBLE_DIR/node$i/pid")" 2>/dev/null || scripts/ensemble restart "$i" >/dev/null
  done
done
