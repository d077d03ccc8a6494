#!/usr/bin/env python3
"""Turns a `zkstorm sweep --json` result into scripts/bench's JSON lines: one line per point, with the
server's name for its target, the varied value and the figures the curves plot (throughput, request
latency, watch lag, fan-out to the last watcher, notifications missed, generator-bound).

    sweep_rows.py SWEEP.json GROUP NAME=TARGET... [--field KEY=VALUE...]
"""
import json
import statistics
import sys

path, group = sys.argv[1], sys.argv[2]
names, extra = {}, {}
for arg in sys.argv[3:]:
    key, _, value = arg.partition("=")
    if key.startswith("--field:"):
        extra[key[len("--field:"):]] = value
    else:
        names[value] = key
sweep = json.load(open(path))
if not sweep.get("points"):
    sys.exit(f"sweep_rows: {path} has no points" + (f" ({sweep['failure']['message']})" if sweep.get("failure") else ""))
for point in sweep["points"]:
    result, figures = point["result"], point["figures"]
    rounds = [r for r in result.get("rounds", []) if r.get("last_ns") is not None]
    row = {
        "group": group,
        "server": names.get(point["target"], point["target"]),
        "parameter": sweep["parameter"],
        "value": point["value"],
        "throughput": figures.get("throughput_ops_per_second"),
        "requests": figures.get("requests"),
        "errors": figures.get("errors"),
        "p50_us": figures.get("p50_us"),
        "p99_us": figures.get("p99_us"),
        "lag_p50_us": figures.get("lag_p50_us"),
        "lag_p99_us": figures.get("lag_p99_us"),
        "fanout_p50_us": figures.get("fanout_p50_us"),
        "last_p50_us": statistics.median(r["last_ns"] for r in rounds) / 1e3 if rounds else None,
        "storm_rounds": len(rounds),
        "missing": sum(r.get("missing", 0) for r in result.get("rounds", [])),
        "generator_bound": (result.get("generator") or {}).get("bound"),
    }
    row.update(extra)
    print(json.dumps(row))
