#!/usr/bin/env bash
# Watch-count scaling (scripts/bench --only watchscale): `zkstorm bench watches` at each count on the
# built-in server (`zkstorm serve`, fresh for each count; memory = its RSS) and on real ZooKeeper 3.8
# standalone through scripts/ensemble (1 GiB heap; memory = JVM heap used after a full GC, by jcmd).
# Each count spreads over sessions of 10,000 data watches (one per znode). Prints one JSON line per
# (server, count) on stdout.
#
#   scripts/peers/watchscale_bench.sh --bin ZKSTORM [--counts "10000 100000 1000000"] [--quick]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="" counts="10000 100000 1000000"
while (($#)); do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --counts) counts=$2; shift 2 ;;
    --quick) counts="10000 100000"; shift ;;
    *) echo "watchscale_bench: unknown option $1 (--bin ZKSTORM, --counts LIST, --quick)" >&2; exit 64 ;;
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
measure() { # server, target, memory command, count
  local line
  if line=$("$bin" bench watches --target "$2" --watches "$4" --znodes $(($4 < 10000 ? $4 : 10000)) \
    --memory-command "$3" 2>>"$work/errors.log" | tail -n 1) && [ -n "$line" ]; then
    label "$line" "$1"
  else
    echo "watchscale_bench: $1 at $4 watches failed: $(tail -n 3 "$work/errors.log")" >&2
  fi
}

real=$(scripts/ensemble start 1 | tail -n 1) || { echo "watchscale_bench: real ZooKeeper did not start" >&2; exit 69; }
real_pid=$(cat "$ZKSTORM_ENSEMBLE_DIR/node1/pid")
heap="jcmd $real_pid GC.run >/dev/null && jcmd $real_pid GC.heap_info | python3 scripts/peers/scale_report.py heap"
for n in $counts; do
  port=$(free_port)
  "$bin" serve --port "$port" >"$work/serve.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  measure builtin "127.0.0.1:$port" "awk '/^VmRSS:/ {print \$2 * 1024}' /proc/$serve_pid/status" "$n"
  kill "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
  serve_pid=""
  measure real "$real" "$heap" "$n"
done
