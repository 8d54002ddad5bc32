#!/usr/bin/env python3
"""lanes benchmark (not a test): Map, Reduce and a raw gRPC Echo of the same bytes, from Python and C.

One run measures, against one daemon:
  - from Python: Map "square" (float64 in and out), Reduce "sum", and Echo of the same bytes in the
    same chunks (the transport bound: gRPC, HTTP/2 and the client's own conversions, no compute) for
    1e3 ... 1e8 elements; the ratio Map/Echo says how close Map comes to the transport;
  - tiny Reduce latency (sum of 8 float64) p50/p99 in microseconds, and unary Info for reference;
  - from C: the same through clients/c/lanes-bench (its JSON is merged into the table).
Throughput counts input payload bytes per second (Map and Echo move as many bytes back).

Python numbers are medians of --repeat rounds in which Map, Reduce and Echo take turns.

Usage: .venv/bin/python scripts/bench.py [--server HOST:PORT] [--max-elements 1e8] [--repeat 5]
       [--json out.json]. Without --server it starts build/service/lanesd on a free port.
Timings on a 2-core machine are noisy: compare ratios taken in the same run.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
import numpy as np

import lanes
from lanes.v1 import lanes_pb2, lanes_pb2_grpc

ROOT = Path(__file__).resolve().parents[1]


def start_daemon(build):
    tmp = tempfile.mkdtemp(prefix="lanes-bench-")
    port_file = Path(tmp) / "port"
    log = open(Path(tmp) / "lanesd.log", "wb")
    proc = subprocess.Popen([str(build / "service" / "lanesd"), "--listen", "127.0.0.1:0", "--port-file",
                             str(port_file)], stdout=log, stderr=subprocess.STDOUT)
    for _ in range(500):
        if port_file.exists() and port_file.read_text().strip():
            return proc, f"127.0.0.1:{port_file.read_text().strip()}"
        time.sleep(0.01)
    proc.kill()
    raise SystemExit("lanesd did not start")


def interleaved_medians(repeat, fns):
    """Median wall time of each function over `repeat` rounds, the functions taking turns in each round,
    so slow drift on a shared machine hits them alike."""
    times = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return {k: float(np.median(v)) for k, v in times.items()}


def echo_same_bytes(stub, x, chunk_bytes):
    """Streams x through Echo in the chunks Map would use, rebuilding the array like the Map client."""
    per = max(1, chunk_bytes // x.itemsize)
    out = np.empty_like(x)

    def requests():
        for i in range(0, x.size, per):
            m = lanes_pb2.EchoChunk()  # built like the Map client's messages
            m.data = x[i:i + per].tobytes()
            yield m

    pos = 0
    for r in stub.Echo(requests()):
        part = np.frombuffer(r.data, dtype=x.dtype)
        out[pos:pos + part.size] = part
        pos += part.size
    assert pos == x.size
    return out


def latency(fn, n=2000, warm=200):
    for _ in range(warm):
        fn()
    ts = np.empty(n)
    for i in range(n):
        t = time.perf_counter()
        fn()
        ts[i] = time.perf_counter() - t
    return float(np.percentile(ts, 50) * 1e6), float(np.percentile(ts, 99) * 1e6)


def python_bench(address, sizes, repeat):
    rows = []
    ch = grpc.insecure_channel(address)
    stub = lanes_pb2_grpc.LanesStub(ch)
    with lanes.Client(address, timeout=3600) as c:
        rng = np.random.default_rng(1)
        for n in sizes:
            x = rng.random(n)
            r = repeat if n < 10**8 else max(1, repeat // 2)
            seen = {}

            def run_map():
                c.map("square", x)
                seen["backend"] = c.last_summary["backend"]

            t = interleaved_medians(r, {"map": run_map, "reduce": lambda: c.reduce("sum", x),
                                        "echo": lambda: echo_same_bytes(stub, x, c.chunk_bytes)})
            t_map, t_red, t_echo = t["map"], t["reduce"], t["echo"]
            backend = seen["backend"]
            mb = x.nbytes / 1e6
            rows.append({"client": "python", "elements": n, "map_MBps": mb / t_map, "reduce_MBps": mb / t_red,
                         "echo_MBps": mb / t_echo, "map_vs_echo": t_echo / t_map, "map_backend": backend})
            del x
        tiny = np.ones(8)
        p50, p99 = latency(lambda: c.reduce("sum", tiny))
        i50, i99 = latency(lambda: c.info(), n=500, warm=50)
    ch.close()
    return rows, {"client": "python", "reduce_p50_us": p50, "reduce_p99_us": p99, "info_p50_us": i50,
                  "info_p99_us": i99}


def c_bench(build, address, max_elements, repeat):
    exe = build / "clients" / "c" / "lanes-bench"
    if not exe.exists():
        print(f"(no {exe}: C numbers skipped)", file=sys.stderr)
        return [], None
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        subprocess.run([str(exe), "--server", address, "--max-elements", str(int(max_elements)), "--repeat",
                        str(repeat), "--json", f.name], check=True, stdout=subprocess.DEVNULL)
        data = json.load(open(f.name))
    return data.get("rows", []), data.get("latency")


def fmt_table(rows, lat):
    out = ["| client | elements | Map MB/s | Reduce MB/s | Echo MB/s | Map / Echo |",
           "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['client']} | {r['elements']:.0e} | {r['map_MBps']:.0f} | {r['reduce_MBps']:.0f} | "
                   f"{r['echo_MBps']:.0f} | {r['map_vs_echo']:.2f} |")
    out.append("")
    out.append("| client | tiny Reduce p50 µs | p99 µs | Info p50 µs | p99 µs |")
    out.append("|---|---:|---:|---:|---:|")
    for l in lat:
        if l:
            out.append(f"| {l['client']} | {l['reduce_p50_us']:.0f} | {l['reduce_p99_us']:.0f} | "
                       f"{l.get('info_p50_us', float('nan')):.0f} | {l.get('info_p99_us', float('nan')):.0f} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server")
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--max-elements", type=float, default=1e8)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json")
    args = ap.parse_args()
    build = Path(args.build)
    proc = None
    address = args.server
    if not address:
        proc, address = start_daemon(build)
    try:
        sizes = [int(10**k) for k in range(3, 9) if 10**k <= args.max_elements]
        py_rows, py_lat = python_bench(address, sizes, args.repeat)
        c_rows, c_lat = c_bench(build, address, args.max_elements, args.repeat)
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    table = fmt_table(py_rows + c_rows, [py_lat, c_lat])
    print(f"lanes benchmark, {os.cpu_count()} CPUs, daemon {address}\n")
    print(table)
    if args.json:
        json.dump({"rows": py_rows + c_rows, "latency": [py_lat, c_lat]}, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
