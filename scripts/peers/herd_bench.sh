#!/usr/bin/env bash
# The reconnect herd on a real quorum (scripts/bench --only herd): the reconnect-herd preset (tree
# caches, half reconnecting at once, half with jittered back-off) against a 3-node scripts/ensemble
# quorum whose leader is killed 5 s in and restarted 3 s later. Prints the run's result JSON path on
# stdout (the caller reads and removes it).
#
#   scripts/peers/herd_bench.sh --bin ZKSTORM [--quick]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="" quick=0
while (($#)); do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    *) echo "herd_bench: unknown option $1 (--bin ZKSTORM, --quick)" >&2; exit 64 ;;
  esac
done
[ -x "$bin" ] || { echo "herd_bench: --bin must name the zkstorm binary (got \"$bin\")" >&2; exit 64; }
work=$(mktemp -d /tmp/zkstorm-herd.XXXXXX)
export ZKSTORM_ENSEMBLE_DIR="$work/zk" ZKSTORM_ENSEMBLE_BASE_PORT=$((20000 + RANDOM % 10000))
export ZKSTORM_ENSEMBLE_CONTROL="$PWD/scripts/ensemble"
trap 'scripts/ensemble stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
quorum=$(scripts/ensemble start 3 | tail -n 1) || { echo "herd_bench: the quorum did not start" >&2; exit 69; }
# The preset with its built-in drop swapped for a leader kill, the herd smaller with --quick.
sed -e 's/^  - {at: 5s, action: drop}$/  - {at: 5s, action: kill, node: leader, for: 3s}/' \
  -e "$( ((quick)) && echo 's/sessions: 100, znodes: 50/sessions: 20, znodes: 20/' || echo 's/^$//')" \
  workloads/reconnect-herd.yaml >"$work/herd.yaml"
grep -q 'action: kill, node: leader' "$work/herd.yaml" || { echo "herd_bench: workloads/reconnect-herd.yaml has no drop fault to swap" >&2; exit 70; }
out=$(mktemp /tmp/zkstorm-herd-result.XXXXXX)
"$bin" run "$work/herd.yaml" --target "$quorum" --session-timeout 10s --quiet --json "$out" >"$work/report.txt" 2>"$work/run.log" ||
  { echo "herd_bench: zkstorm run failed: $(tail -n 5 "$work/run.log")" >&2; rm -f "$out"; exit 70; }
echo "$out"
