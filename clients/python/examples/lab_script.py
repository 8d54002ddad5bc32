#!/usr/bin/env python3
"""A lab script in the style of the parallel-Python course, with lanes doing the parallel work.

The course computes squares with multiprocessing.Pool.map, powers with starmap, and 2*x - 1 with numba;
here each is one call to a running lanesd, checked against plain numpy.

    scripts/run-lanesd.sh &                         # in another terminal
    .venv/bin/python clients/python/examples/lab_script.py [--server 127.0.0.1:50051] [-n 10000000]
"""
import argparse
import time

import numpy as np

import lanes


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default=lanes.DEFAULT_ADDRESS)
    ap.add_argument("-n", type=int, default=10_000_000)
    args = ap.parse_args()

    rng = np.random.default_rng(42)
    x = rng.random(args.n)
    n = rng.integers(1, 4, args.n)

    with lanes.Client(args.server) as c:
        print("lanesd", c.info()["version"], "is", c.health())

        t = time.perf_counter()
        squares = c.map("square", x)                      # Pool.map(square, x)
        print(f"square of {args.n} values in {time.perf_counter() - t:.3f} s "
              f"on {c.last_summary['backend']} ({c.last_summary['reason']})")
        assert np.array_equal(squares, x * x)

        powers = c.map("power", x, n)                     # Pool.starmap(power_n, zip(x, n))
        assert np.allclose(powers, x ** n, rtol=1e-15)

        y = c.map("affine", x, a=2, b=-1)                 # numba's 2*x - 1
        assert np.array_equal(y, 2 * x - 1)

        total = c.reduce("sum", squares)
        mean, std = c.reduce("mean", x), c.reduce("std", x, ddof=1)
        counts, edges = c.reduce("histogram", x, bins=10)
        print(f"sum of squares {total:.6f} (numpy {np.sum(x * x):.6f}); mean {mean:.6f}, std {std:.6f}")
        print("histogram:", counts.tolist())
        assert np.array_equal(counts, np.histogram(x, bins=10)[0])

        try:
            c.map("sine", x[:10])
        except lanes.InvalidArgument as e:
            print("a typo gets a clear error:", e.message)
        try:
            c.map("x * y", x[:10], x[:11])                # the client's own checks are lanes errors too
        except lanes.InvalidArgument as e:
            print("arrays that do not broadcast:", e.message)
        print(f"the summary's counts are ints: {c.last_summary['elements']} elements, "
              f"{c.last_summary['bytes_in']} bytes in")
    print("all results match numpy")


if __name__ == "__main__":
    main()
