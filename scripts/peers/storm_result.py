#!/usr/bin/env python3
"""Reads a `zkstorm run --json` result of a watch storm and prints the figures watch_ref prints, as one
JSON line: medians over rounds of the first, median and last watcher's lag, and percentiles of every
watcher's lag (µs). scripts/bench compares the two.

    storm_result.py RESULT.json MODE WATCHERS
"""
import json
import statistics
import sys

path, mode, watchers = sys.argv[1], sys.argv[2], int(sys.argv[3])
d = json.load(open(path))
rounds = [r for r in d.get("rounds", []) if r.get("last_ns") is not None]
if not rounds:
    sys.exit(f"storm_result: {path} has no storm round with a notification")


def med(field):
    return statistics.median(r[field] for r in rounds) / 1e3


lag = d["watch"]["lagUs"] if "lagUs" in d["watch"] else d["watch"]["lag_us"]
out = {
    "tool": "zkstorm", "mode": mode, "watchers": watchers, "rounds": len(rounds),
    "first_p50_us": med("first_ns"), "median_p50_us": med("median_ns"), "last_p50_us": med("last_ns"),
    "lag_p50_us": lag["p50"], "lag_p90_us": lag["p90"], "lag_p99_us": lag["p99"], "lag_max_us": lag["max"],
    "missing": sum(r.get("missing", 0) for r in rounds),
}
gen = d.get("generator")
if gen is not None:
    out["generator_bound"] = gen.get("bound")
print(json.dumps(out))
