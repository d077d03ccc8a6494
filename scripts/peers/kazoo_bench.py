#!/usr/bin/env python3
"""kazoo doing pipelined getData or setData on one znode with a fixed number of requests in flight,
one session: the Python peer that scripts/bench runs beside zkstorm's own client on the same work.

    kazoo_bench.py HOST:PORT get|set INFLIGHT COUNT VALUE_SIZE PATH

Prints one JSON line: tool, op, inflight, ops, seconds, ops_per_sec, p50_us, p99_us.
"""
import json
import logging
import sys
import threading
import time

from kazoo.client import KazooClient


def main() -> int:
    if len(sys.argv) != 7 or sys.argv[2] not in ("get", "set"):
        print("usage: kazoo_bench.py HOST:PORT get|set INFLIGHT COUNT VALUE_SIZE PATH", file=sys.stderr)
        return 64
    hosts, op, window, count, size, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
    logging.basicConfig(level=logging.ERROR)
    zk = KazooClient(hosts=hosts, timeout=10.0)
    try:
        zk.start(timeout=10)
    except Exception as error:  # kazoo raises its own timeout type
        print(f"kazoo_bench: could not connect to {hosts}: {error}", file=sys.stderr)
        return 69
    value = b"x" * size
    zk.ensure_path(path)
    zk.set(path, value)

    warmup = count // 10
    latencies = [0] * (count + warmup)
    slots = threading.Semaphore(window)
    done = threading.Event()
    lock = threading.Lock()
    state = {"completed": 0, "errors": 0, "total": count + warmup}

    def issue(index: int) -> None:
        slots.acquire()
        sent = time.monotonic_ns()
        future = zk.get_async(path) if op == "get" else zk.set_async(path, value)

        def finished(result) -> None:
            latencies[index] = time.monotonic_ns() - sent
            with lock:
                if result.exception is not None:
                    state["errors"] += 1
                state["completed"] += 1
                if state["completed"] == state["total"]:
                    done.set()
            slots.release()

        future.rawlink(finished)

    for i in range(warmup):
        issue(i)
    while True:
        with lock:
            if state["completed"] == warmup:
                break
        time.sleep(0.0005)
    start = time.monotonic_ns()
    for i in range(warmup, count + warmup):
        issue(i)
    if warmup + count > 0 and not done.wait(300):
        print("kazoo_bench: timed out waiting for replies", file=sys.stderr)
        return 70
    seconds = (time.monotonic_ns() - start) / 1e9
    measured = sorted(latencies[warmup:])
    print(json.dumps({
        "tool": "kazoo", "op": op, "inflight": window, "ops": count, "errors": state["errors"],
        "seconds": round(seconds, 6), "ops_per_sec": round(count / seconds, 1),
        "p50_us": round(measured[count // 2] / 1000, 1), "p99_us": round(measured[count * 99 // 100] / 1000, 1),
    }))
    zk.stop()
    zk.close()
    return 70 if state["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
