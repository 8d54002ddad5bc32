#!/usr/bin/env python3
"""Where the router's crossovers fall: each job family timed end to end through a running lanesd on
every backend it has (inline, cpu, cuda), at sizes 2^10 .. 2^max, beside what AUTO chose and predicted.

Design: one daemon, one client, the same inputs for every backend of a size. For each (family, size)
the job is forced onto each available backend and timed (the median of --repeats calls after one
warm-up call), then run once under AUTO; the table shows the measured times, the fastest backend,
AUTO's choice and the reason's predicted times. A crossover is the first size at which a backend
becomes the fastest (measured) and the first at which AUTO picks it (model). Families: map
(x**2 + y**2 on two float64 arrays), reduce (sum of a float64 array), acf (nlags 32 on a float64
series). One chunk per call up to chunk_bytes, so the sizes are pieces the router places. On a
machine without a device the cuda column is absent (or simulated, with lanesd-test and
LANES_TEST_FAKE_GPUS, which measures the plumbing, not a GPU).

Usage: .venv/bin/python scripts/bench_router.py --address 127.0.0.1:50051 [--max-log2 24] [--repeats 5]
"""
import argparse
import platform
import statistics
import time

import numpy as np

import lanes


def timed(fn, repeats):
    fn()  # warm-up: NVRTC compiles, caches fill
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def job(c, family, n, backend, data):
    x, y = data
    if family == "map":
        return lambda: c.map("x**2 + y**2", x[:n], y[:n], backend=backend)
    if family == "reduce":
        return lambda: c.reduce("sum", x[:n], backend=backend)
    return lambda: c.acf(x[:n], nlags=32, backend=backend)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--address", default="127.0.0.1:50051")
    ap.add_argument("--max-log2", type=int, default=22)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    with lanes.Client(args.address) as c:
        info = c.info()
        backends = [b["name"] for b in info["backends"] if b["available"] and b["name"] in ("inline", "cpu", "cuda")]
        devs = ", ".join(d["name"] for d in info.get("devices", [])) or "none"
        print(f"# lanesd {info['version']} on {platform.node()}: backends {', '.join(backends)}; devices: {devs}")
        print(f"# model: {info.get('router_model', '?').splitlines()[0] if info.get('router_model') else '?'}")
        rng = np.random.default_rng(0)
        nmax = 1 << args.max_log2
        data = (rng.random(nmax), rng.random(nmax))
        print("| family | n | " + " | ".join(f"{b} ms" for b in backends) + " | fastest | auto chose | auto's reason |")
        print("|---|---|" + "---|" * len(backends) + "---|---|---|")
        crossings = {}
        for family in ("map", "reduce", "acf"):
            for k in range(10, args.max_log2 + 1, 2):
                n = 1 << k
                times = {b: timed(job(c, family, n, b, data), args.repeats) * 1e3 for b in backends}
                fastest = min(times, key=times.get)
                job(c, family, n, None, data)()
                s = c.last_summary
                reason = s["reason"].split(": ", 1)[-1]
                crossings.setdefault((family, "measured", fastest), n)
                crossings.setdefault((family, "auto", s["backend"]), n)
                cells = " | ".join(f"{times[b]:.3f}" for b in backends)
                print(f"| {family} | {n} | {cells} | {fastest} | {s['backend']} | {reason[:120]} |")
        print()
        for (family, how, backend), n in sorted(crossings.items()):
            print(f"{family}: {how} first {backend} at n = {n}")


if __name__ == "__main__":
    main()
