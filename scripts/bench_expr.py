#!/usr/bin/env python3
"""Expression benchmark: numpy, numexpr and lanes (lanes_expr_eval) on the same data, one table.

Design: one run times the three on the same float64 inputs and sizes, with the same thread count for
numexpr (numexpr.set_num_threads) and lanes (lanes-bench-expr --threads); numpy runs its ufuncs on
one thread whatever the setting, and the table says so. lanes-bench-expr (bench/expr/bench_expr.c)
runs first (it holds its own three arrays) and prints JSON with its median times and evenly spaced
sample elements [k, x, y, value]. This script then builds the same inputs with numpy, bit for bit (the
formula is in bench_expr.c's header comment; the samples' x and y are checked against them), times
numpy (the expression as written, temporaries included) and numexpr (into a preallocated output, as
lanes), each the median of repeats after 0.3 s of warm-up calls (about 1 s of repeats, 3 to 25,
unless --repeats), and compares lanes' sample values with numpy's results at the same elements in units in
the last place (NaN matching NaN is 0; NaN against a number is inf).

Output: a Markdown table: expression, n, numpy ms, numexpr ms, lanes ms, lanes/numexpr speed ratio
(numexpr time / lanes time: above 1 lanes is faster), max ULP of lanes against numpy on the sample.

Usage: .venv/bin/python scripts/bench_expr.py [--threads N] [--sizes 1e6,1e8] [--repeats R]
       [--build-dir build] [--bench PATH]     (needs numexpr: scripts/requirements.txt)
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

try:
    import numexpr as ne
except ImportError:  # pragma: no cover - a message for a person
    sys.exit("bench_expr.py: numexpr is not installed (pip install numexpr; it is in scripts/requirements.txt)")

EXPRESSIONS = ["2*x-1", "x**2 + y**2", "sin(x)*exp(-x)", "where(x>0, sqrt(x), 0)"]
MUL_X = 0x9E3779B97F4A7C15
MUL_Y = 0xD1B54A32D192ED03
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_input(n, mul):
    """bench_expr.c's input: (double)((k * mul mod 2^64) >> 11) * 2^-53 * 20 - 10, left to right."""
    out = np.empty(n, dtype=np.float64)
    step = 1 << 22
    for lo in range(0, n, step):
        k = np.arange(lo, min(n, lo + step), dtype=np.uint64)
        h = k * np.uint64(mul)  # wraps modulo 2^64
        v = (h >> np.uint64(11)).astype(np.float64)
        v *= 2.0**-53
        v *= 20.0
        v -= 10.0
        out[lo:lo + len(k)] = v
    return out


def time_ms(fn, repeats):
    """Median wall time of fn() in ms after 0.3 s of warm-up calls (as lanes-bench-expr); repeats 0
    picks ~1 s worth (3 to 25)."""
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        fn()
        warm = (time.perf_counter() - t0) * 1e3
        if time.perf_counter() - start >= 0.3:
            break
    if repeats == 0:
        repeats = min(25, max(3, int(1000.0 / warm) if warm > 0 else 25))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def ordered(v):
    """A float64's bits as an integer that orders like the float (-0.0 and 0.0 both 0)."""
    i = int(np.array(v, dtype=np.float64).view(np.int64))
    return i if i >= 0 else -(i & 0x7FFFFFFFFFFFFFFF)


def ulp_distance(a, b):
    if np.isnan(a) and np.isnan(b):
        return 0
    if np.isnan(a) or np.isnan(b):
        return float("inf")
    if a == b:
        return 0
    return abs(ordered(a) - ordered(b))


def parse_sizes(text):
    sizes = []
    for part in text.split(","):
        v = float(part)
        if v < 1 or v != int(v):
            raise argparse.ArgumentTypeError(f"bad size {part!r}")
        sizes.append(int(v))
    return sizes


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                    help="threads for numexpr and lanes (default: all CPUs this process may use)")
    ap.add_argument("--sizes", type=parse_sizes, default=[10**6, 10**8], help="element counts, e.g. 1e6,1e8")
    ap.add_argument("--repeats", type=int, default=0, help="timed repeats (default: ~1 s worth, 3 to 25)")
    ap.add_argument("--samples", type=int, default=1000, help="elements compared with numpy per run")
    ap.add_argument("--build-dir", default=os.environ.get("LANES_BUILD_DIR", "build"))
    ap.add_argument("--bench", help="path of lanes-bench-expr (default: <build-dir>/bench/lanes-bench-expr)")
    args = ap.parse_args()

    bench = args.bench or os.path.join(ROOT, args.build_dir, "bench", "lanes-bench-expr")
    if not os.access(bench, os.X_OK):
        sys.exit(f"bench_expr.py: {bench} not found; build it: cmake --build {args.build_dir} --target lanes-bench-expr")

    load_start = os.getloadavg()[0]
    cmd = [bench, "--threads", str(args.threads), "--sizes", ",".join(str(n) for n in args.sizes),
           "--samples", str(args.samples)]
    if args.repeats:
        cmd += ["--repeats", str(args.repeats)]
    for e in EXPRESSIONS:
        cmd += ["--expr", e]
    print(f"running {' '.join(cmd)}", file=sys.stderr)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, check=True)
    lanes = {(r["expr"], r["n"]): r for r in json.loads(proc.stdout)["results"]}

    ne.set_num_threads(args.threads)
    rows = []
    n_max = max(args.sizes)
    x_all = make_input(n_max, MUL_X)
    y_all = make_input(n_max, MUL_Y)
    for n in args.sizes:
        x, y = x_all[:n], y_all[:n]
        ns = {"x": x, "y": y, "sin": np.sin, "exp": np.exp, "sqrt": np.sqrt, "where": np.where}
        out = np.empty(n, dtype=np.float64)
        for expr in EXPRESSIONS:
            code = compile(expr, "<expr>", "eval")
            with np.errstate(all="ignore"):  # sqrt of the negative x in where's untaken branch
                numpy_ms = time_ms(lambda: eval(code, ns), args.repeats)  # noqa: S307 - fixed strings
                ref = eval(code, ns)  # noqa: S307
            numexpr_ms = time_ms(lambda: ne.evaluate(expr, local_dict={"x": x, "y": y}, out=out),
                                 args.repeats)
            r = lanes[(expr, n)]
            max_ulp = 0
            for k, xk, yk, v in r["samples"]:
                if xk != x[k] or yk != y[k]:
                    sys.exit(f"bench_expr.py: input mismatch at element {k}: lanes x={xk!r} y={yk!r}, "
                             f"numpy x={x[k]!r} y={y[k]!r}")
                max_ulp = max(max_ulp, ulp_distance(np.nan if v is None else v, ref[k]))
            rows.append((expr, n, numpy_ms, numexpr_ms, r["median_ms"], numexpr_ms / r["median_ms"],
                         max_ulp, len(r["samples"])))
            print(f"{expr:26s} n={n:<10d} numpy {numpy_ms:9.2f} ms  numexpr {numexpr_ms:9.2f} ms  "
                  f"lanes {r['median_ms']:9.2f} ms", file=sys.stderr)
            del ref

    print(f"\nExpression benchmark: {cpu_name()}, {os.cpu_count()} CPUs; numexpr {ne.__version__} and "
          f"lanes with {args.threads} thread(s), numpy {np.__version__} single-threaded (its ufuncs do "
          f"not use threads). Median of repeats, float64 in and out. Load average {load_start:.2f} at the "
          f"start, {os.getloadavg()[0]:.2f} at the end (other work on the machine skews multi-thread "
          f"timings).\n")
    print("| expression | n | numpy ms | numexpr ms | lanes ms | lanes/numexpr speed | max ULP vs numpy |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for expr, n, a, b, c, ratio, ulp, n_samples in rows:
        ulp_text = "inf" if ulp == float("inf") else str(ulp)
        n_text = f"1e{len(str(n)) - 1}" if str(n).rstrip("0") == "1" else str(n)
        print(f"| `{expr}` | {n_text} | {a:.2f} | {b:.2f} | {c:.2f} | {ratio:.2f}x | {ulp_text} "
              f"({n_samples} el.) |")
    print("\nlanes/numexpr speed: numexpr ms / lanes ms (above 1: lanes is faster).")


if __name__ == "__main__":
    main()
