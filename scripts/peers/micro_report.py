#!/usr/bin/env python3
"""The micro-benchmarks against their committed thresholds (scripts/bench --micro).

  micro_report.py check RUN_DIR THRESHOLDS_DIR OUT_MD   exit 0 when within, 1 on a regression
  micro_report.py update THRESHOLDS_DIR RUN_DIR...     writes the highest p90 of the runs as thresholds

RUN_DIR holds what `swift package benchmark run --format metricP90AbsoluteThresholds` exported: one
`<target>.<benchmark>.p90.json` per benchmark, {"wallClock": ns, "mallocCountTotal": n}, each the p90 of
the measured iterations. Every iteration runs 1,000 operations (scalingFactor .kilo in Benchmarks/), so
the per-operation figures are these divided by 1,000.

The rule, the same as Benchmarks/'s own threshold configuration: a regression is wall-clock time more than
10% over the threshold, or more than 100 mallocs per 1,000 operations over it (one allocation added to a
path is +1,000; the benchmark harness itself varies by a few dozen).
"""
import glob
import json
import os
import sys

ITERATIONS = 1000
TIME_TOLERANCE = 0.10
MALLOC_TOLERANCE = 100


def load(directory):
    figures = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.p90.json"))):
        name = os.path.basename(path)[: -len(".p90.json")]
        name = name.split(".", 1)[1] if "." in name else name  # drop the target's name
        try:
            with open(path) as f:
                figures[name] = json.load(f)
        except (OSError, json.JSONDecodeError) as error:
            sys.exit(f"micro_report: cannot read {path}: {error}")
    return figures


def check(run_dir, thresholds_dir, out_md):
    run, thresholds = load(run_dir), load(thresholds_dir)
    if not run:
        sys.exit(f"micro_report: {run_dir} holds no benchmark figures (did the benchmark run fail?)")
    rows, regressions = [], []
    for name in sorted(set(run) | set(thresholds)):
        now, limit = run.get(name), thresholds.get(name)
        if now is None:
            regressions.append(f"{name}: in Thresholds/ but not run")
            rows.append(f"| `{name}` | not run | | | | NOT RUN |")
            continue
        ns = now["wallClock"] / ITERATIONS
        mallocs = now["mallocCountTotal"] / ITERATIONS
        if limit is None:
            rows.append(f"| `{name}` | {ns:,.1f} | | {mallocs:.2f} | | no threshold yet |")
            continue
        limit_ns = limit["wallClock"] / ITERATIONS
        limit_mallocs = limit["mallocCountTotal"] / ITERATIONS
        verdict = []
        if now["wallClock"] > limit["wallClock"] * (1 + TIME_TOLERANCE):
            verdict.append(f"time +{(now['wallClock'] / limit['wallClock'] - 1) * 100:.0f}%")
        if now["mallocCountTotal"] > limit["mallocCountTotal"] + MALLOC_TOLERANCE:
            verdict.append(f"mallocs {mallocs:.2f} > {limit_mallocs:.2f} per op")
        if verdict:
            regressions.append(f"{name}: " + ", ".join(verdict))
        rows.append(
            f"| `{name}` | {ns:,.1f} | {limit_ns:,.1f} | {mallocs:.2f} | {limit_mallocs:.2f} |"
            f" {'REGRESSION: ' + ', '.join(verdict) if verdict else 'within'} |"
        )
    section = "\n".join(
        [
            "## 12. Micro-benchmarks: time and mallocs per operation",
            "",
            "Benchmarks/ (ordo-one/package-benchmark): each figure is the p90 of the measured iterations of 1,000",
            "operations, divided by 1,000. Thresholds are Benchmarks/Thresholds/ (the highest p90 of three quiet runs,",
            "`scripts/bench --micro --update-thresholds`); a regression is time more than 10% over its threshold or",
            "more than 0.1 malloc per operation over it. Wall-clock, not CPU time: this kernel's process CPU clock",
            "moves in 10 ms steps, too coarse for these loops.",
            "",
            "| benchmark | ns per op | threshold ns | mallocs per op | threshold mallocs | verdict |",
            "|---|---|---|---|---|---|",
        ]
        + rows
    )
    with open(out_md, "w") as f:
        f.write(section + "\n")
    print(section)
    if regressions:
        print("\nbench --micro: REGRESSION against Benchmarks/Thresholds:\n  " + "\n  ".join(regressions), file=sys.stderr)
        return 1
    print("\nbench --micro: every benchmark within Benchmarks/Thresholds", file=sys.stderr)
    return 0


def update(thresholds_dir, run_dirs):
    runs = [load(d) for d in run_dirs]
    names = set().union(*runs)
    if not names:
        sys.exit("micro_report: the runs hold no benchmark figures")
    target = "ZKStormBenchmarks"
    for name in sorted(names):
        merged = {}
        for run in runs:
            for metric, value in run.get(name, {}).items():
                merged[metric] = max(merged.get(metric, 0), value)
        with open(os.path.join(thresholds_dir, f"{target}.{name}.p90.json"), "w") as f:
            json.dump(merged, f, indent=2, sort_keys=True)
            f.write("\n")
        print(f"{name}: {merged['wallClock'] / ITERATIONS:,.1f} ns, {merged['mallocCountTotal'] / ITERATIONS:.2f} mallocs per op")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4]))
    if len(sys.argv) >= 4 and sys.argv[1] == "update":
        sys.exit(update(sys.argv[2], sys.argv[3:]))
    sys.exit(__doc__)
