"""The CUDA backend through the daemon: routing to devices, forced backends, results equal to the CPU's,
device faults survived (fall-back, UNAVAILABLE when forced, restart), Health and Info.

Design: these tests run lanesd-test, the daemon's test build, with LANES_TEST_FAKE_GPUS=N: its GPU
workers serve the real GPU protocol (shared arenas, commands, replies, poisoned contexts, respawns)
but compute with the CPU kernels, so everything here but the CUDA kernels themselves runs on any
machine. The kernels are compared with the CPU reference by tests/unit/test_cuda_backend.cc and
test_cuda_acf.cc on a machine with a device. References are independent: numpy, statsmodels, and the
same job forced onto the CPU backend (results must be bit-identical: the partials follow one order).
"""
import re
import threading
import time

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from statsmodels.tsa.stattools import acf as sm_acf

import lanes
from conftest import HANG_GUARD_S, LANESD_TEST, wait_for

CUDA_SERVICE = "lanes.v1.Lanes.cuda"


@pytest.fixture(scope="module")
def gpud(tmp_path_factory):
    from conftest import Daemon
    d = Daemon(tmp_path_factory.mktemp("gpud"), env={"LANES_TEST_FAKE_GPUS": "2"}, binary=LANESD_TEST)
    yield d
    rc = d.stop()
    assert rc == 0, f"lanesd-test exited with {rc}:\n{d.log()}"


@pytest.fixture
def client(gpud):
    with lanes.Client(gpud.address) as c:
        yield c


def cuda_backend(info):
    return next(b for b in info["backends"] if b["name"] == "cuda")


def health(address, service):
    with grpc.insecure_channel(address) as ch:
        return health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status


def wait_up(client, not_pid=None):
    """Waits until every device is up (and device 0's worker is not not_pid: a respawn happened, not
    merely a worker that has not been seen to die yet); returns that Info."""
    def up():
        info = client.info()
        devs = info["devices"]
        ok = all(d.get("up") for d in devs) and (not_pid is None or int(devs[0]["worker_pid"]) != not_pid)
        return info if ok else None
    return wait_for(up, lambda: f"devices up again: {client.info()['devices']}")


def test_info_lists_simulated_devices_with_workers(client):
    info = client.info()
    b = cuda_backend(info)
    assert b["available"] is True  # compiled says whether this build has CUDA; simulated devices need none
    assert "2 simulated device(s) up" in b["detail"]
    devs = info["devices"]
    assert [d["index"] for d in devs] == [0, 1]
    for d in devs:
        assert d["up"] is True and d["simulated"] is True and int(d["worker_pid"]) > 0


def test_health_cuda_service_serving(gpud):
    assert health(gpud.address, CUDA_SERVICE) == health_pb2.HealthCheckResponse.SERVING
    assert health(gpud.address, "") == health_pb2.HealthCheckResponse.SERVING


def test_forced_cuda_map_expression_equals_numpy(client):
    x = np.random.default_rng(1).random(1_000_003)
    y = np.random.default_rng(2).random(1_000_003)
    out = client.map("x**2 + y**2", x, y, backend="cuda")
    np.testing.assert_array_equal(out, x ** 2 + y ** 2)
    s = client.last_summary
    assert s["backend"] == "cuda", s
    assert "forced" in s["reason"] and "cuda" in s["reason"], s["reason"]


@pytest.mark.parametrize("fn,ref", [("sqrt", np.sqrt), ("square", np.square), ("abs", np.abs)])
def test_forced_cuda_named_function_equals_cpu(client, fn, ref):
    x = np.random.default_rng(3).normal(size=300_000)
    if fn == "sqrt":
        x = np.abs(x)
    gpu = client.map(fn, x, backend="cuda")
    assert client.last_summary["backend"] == "cuda"
    cpu = client.map(fn, x, backend="cpu")
    np.testing.assert_array_equal(gpu, cpu)
    np.testing.assert_array_equal(gpu, ref(x))


def test_forced_cuda_map_float32_output_and_int_inputs(client):
    x = np.arange(-50_000, 50_000, dtype=np.int32)
    out = client.map("x * 3 + 1", x, out_dtype="float32", backend="cuda")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, (x.astype(np.float64) * 3 + 1).astype(np.float32))


@pytest.mark.parametrize("op", ["sum", "mean", "var", "std", "min", "max", "argmin", "argmax", "count"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32])
def test_forced_cuda_reduce_bit_identical_to_cpu(client, op, dtype):
    rng = np.random.default_rng(4)
    n = 5 * 4096 + 123  # whole blocks on the device, a head and tail on the CPU
    x = (rng.normal(size=n) * 1000).astype(dtype)
    gpu = client.reduce(op, x, backend="cuda")
    assert client.last_summary["backend"] in ("cuda", "cpu")  # count stays on the cpu
    cpu = client.reduce(op, x, backend="cpu")
    assert type(gpu) == type(cpu)
    assert np.asarray(gpu).tobytes() == np.asarray(cpu).tobytes(), (op, dtype, gpu, cpu)
    ref = {"sum": np.sum, "mean": np.mean, "var": np.var, "std": np.std, "min": np.min, "max": np.max,
           "argmin": np.argmin, "argmax": np.argmax, "count": np.size}[op](x)
    if np.issubdtype(dtype, np.integer) and op in ("sum", "min", "max", "argmin", "argmax", "count"):
        assert gpu == ref
    else:
        assert gpu == pytest.approx(float(ref), rel=1e-12 if dtype == np.float64 else 1e-5)


def test_forced_cuda_reduce_uses_the_device(client):
    x = np.random.default_rng(5).random(1 << 20)
    client.reduce("sum", x, backend="cuda")
    s = client.last_summary
    assert s["backend"] == "cuda" and "cuda" in s["reason"], s


def test_forced_cuda_histogram_equals_numpy(client):
    x = np.random.default_rng(6).normal(size=200_000)
    counts, edges = client.reduce("histogram", x, bins=37, range=(-3.0, 3.0), backend="cuda")
    ref_counts, ref_edges = np.histogram(x, bins=37, range=(-3.0, 3.0))
    np.testing.assert_array_equal(counts, ref_counts)
    np.testing.assert_array_equal(edges, ref_edges)


def test_forced_cuda_monte_carlo_pi_equals_cpu(client):
    n = 3 * (1 << 22) + 17
    gpu = client.reduce("mean", expr="4 * (u*u + v*v < 1)", u=lanes.uniform(1), v=lanes.uniform(2), n=n,
                        backend="cuda")
    assert client.last_summary["backend"] == "cuda"
    cpu = client.reduce("mean", expr="4 * (u*u + v*v < 1)", u=lanes.uniform(1), v=lanes.uniform(2), n=n,
                        backend="cpu")
    assert gpu == cpu
    assert abs(gpu - np.pi) < 0.01


def test_forced_cuda_acf_matches_statsmodels(client):
    x = np.cumsum(np.random.default_rng(7).normal(size=300_000)) + 1e6
    res = client.acf(x, nlags=300, backend="cuda")
    assert client.last_summary["backend"] == "cuda"
    np.testing.assert_allclose(res, sm_acf(x, nlags=300, fft=True), rtol=1e-10, atol=1e-12)
    cpu = client.acf(x, nlags=300, backend="cpu")
    np.testing.assert_allclose(res, cpu, rtol=1e-12, atol=1e-14)


def test_auto_with_gpu_threshold_routes_big_pieces_to_cuda(start_daemon):
    d = start_daemon("--gpu-threshold", "100000", env={"LANES_TEST_FAKE_GPUS": "1"}, binary=LANESD_TEST)
    with lanes.Client(d.address) as c:
        x = np.random.default_rng(8).random(1_000_000)
        np.testing.assert_array_equal(c.map("x + 1", x), x + 1)
        s = c.last_summary
        assert s["backend"] == "cuda", s
        assert "gpu_threshold" in s["reason"] or "cuda" in s["reason"], s["reason"]
        small = np.arange(1000.0)
        np.testing.assert_array_equal(c.map("x + 1", small), small + 1)
        assert c.last_summary["backend"] == "inline"
    assert d.stop() == 0


def test_concurrent_jobs_spread_over_devices(gpud, client):
    # A piece goes to the least-loaded device (ties: device 0), so device 1 gets work only while two
    # pieces overlap; on a busy machine one round of jobs may happen to run one piece at a time, so
    # rounds repeat (a bounded number) until both devices have served some. Every result is checked.
    before = [int(d["commands"]) for d in client.info()["devices"]]
    x = np.random.default_rng(9).random(4_000_000)
    errors = []
    after = before

    def job():
        try:
            with lanes.Client(gpud.address) as c:
                np.testing.assert_array_equal(c.map("x * 2", x, backend="cuda"), x * 2)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    for _ in range(20):
        threads = [threading.Thread(target=job) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        after = [int(d["commands"]) for d in client.info()["devices"]]
        if all(a > b for a, b in zip(after, before)):
            break
    assert all(a > b for a, b in zip(after, before)), (before, after)


@pytest.fixture
def faulty(start_daemon, tmp_path):
    fault = tmp_path / "gpu-fault"
    d = start_daemon("--gpu-threshold", "65536", env={"LANES_TEST_FAKE_GPUS": "1", "LANES_TEST_GPU_FAULT_FILE": str(fault)},
                     binary=LANESD_TEST)
    yield d, fault
    assert d.stop() == 0, d.log()


def test_fault_with_forced_cuda_gives_unavailable_and_the_device_comes_back(faulty):
    d, fault = faulty
    with lanes.Client(d.address) as c:
        x = np.random.default_rng(10).random(100_000)
        pid = int(wait_up(c)["devices"][0]["worker_pid"])
        fault.write_text("")
        with pytest.raises(lanes.Error) as e:
            c.map("x + 1", x, backend="cuda")
        assert e.value.code == grpc.StatusCode.UNAVAILABLE
        assert "illegal memory access" in e.value.message and "device 0" in e.value.message, e.value.message
        assert not fault.exists()  # one fault per file
        info = wait_up(c, not_pid=pid)
        dev = info["devices"][0]
        assert int(dev["worker_pid"]) != pid and int(dev["restarts"]) >= 1
        assert "illegal memory access" in dev["last_error"]
        # the new worker serves the same job
        np.testing.assert_array_equal(c.map("x + 1", x, backend="cuda"), x + 1)
        assert c.last_summary["backend"] == "cuda"
        # another client's jobs were never harmed: the CPU serves throughout
        np.testing.assert_array_equal(c.map("x + 1", x, backend="cpu"), x + 1)
    assert "device 0 is up again" in d.log()


def test_fault_under_auto_falls_back_to_the_cpu_with_the_right_answer(faulty):
    d, fault = faulty
    with lanes.Client(d.address) as c:
        wait_up(c)
        x = np.random.default_rng(11).random(1 << 20)
        want = c.reduce("sum", x, backend="cpu")
        fault.write_text("")
        got = c.reduce("sum", x)  # AUTO; gpu_threshold puts these pieces on the device
        s = c.last_summary
        assert got == want  # bit for bit: the pieces after the fault ran on the cpu
        assert "fell back to the cpu after a device failure" in s["reason"], s["reason"]
        assert not fault.exists()
        wait_up(c)
        assert c.reduce("sum", x) == want
        assert c.last_summary["backend"] == "cuda"


def test_health_cuda_goes_not_serving_and_back(faulty):
    d, fault = faulty
    with grpc.insecure_channel(d.address) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        stream = stub.Watch(health_pb2.HealthCheckRequest(service=CUDA_SERVICE), timeout=30)
        seen = [next(stream).status]
        assert seen == [health_pb2.HealthCheckResponse.SERVING]
        fault.write_text("")
        with lanes.Client(d.address) as c:
            with pytest.raises(lanes.Error):
                c.map("x + 1", np.arange(10.0), backend="cuda")
        seen.append(next(stream).status)
        seen.append(next(stream).status)
        stream.cancel()
    assert seen == [health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING,
                    health_pb2.HealthCheckResponse.SERVING]


def test_production_daemon_has_no_test_hooks(start_daemon):
    d = start_daemon(env={"LANES_TEST_FAKE_GPUS": "2"})  # the lanesd users run: the variable means nothing
    with lanes.Client(d.address) as c:
        b = cuda_backend(c.info())
        assert b["available"] is False
        assert "simulated" not in b["detail"]
        with pytest.raises(lanes.Error) as e:
            c.map("x + 1", np.arange(10.0), backend="cuda")
        assert e.value.code == grpc.StatusCode.FAILED_PRECONDITION
        assert "cuda" in e.value.message
    assert d.stop() == 0


def test_gpu_devices_zero_turns_cuda_off(start_daemon):
    d = start_daemon("--gpu-devices", "0", env={"LANES_TEST_FAKE_GPUS": "2"}, binary=LANESD_TEST)
    with lanes.Client(d.address) as c:
        b = cuda_backend(c.info())
        assert b["available"] is False and "gpu_devices = 0" in b["detail"], b
        with pytest.raises(lanes.Error) as e:
            c.reduce("sum", np.arange(10.0), backend="cuda")
        assert e.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert d.stop() == 0


def reference_fit(points):
    """calibrate.c's fit computed independently: scipy's bounded linear least squares of the relative
    error of t = overhead + bytes * s over the measured (bytes, ns) points, with the bounds calibrate.h
    states (overhead from max(y0 - x0 * ym / xm, y0 / 16) to y0, s >= 0). Returns (overhead, bytes/ns)."""
    from scipy.optimize import lsq_linear
    x = np.array([b for b, _ in points])
    y = np.array([t for _, t in points])
    (x0, y0), (xm, ym) = points[0], points[-1]
    lo = max(y0 - x0 * ym / xm, y0 / 16)
    a = np.column_stack([1 / y, x / y])
    r = lsq_linear(a, np.ones_like(y), bounds=([lo, 0], [y0, np.inf]), method="bvls", tol=1e-15)
    return r.x[0], 1 / r.x[1]


def test_calibrate_measures_cuda_through_the_gpu_worker(tmp_path):
    import os
    import subprocess
    out = tmp_path / "cal.txt"
    env = dict(os.environ, LANES_TEST_FAKE_GPUS="1")
    p = subprocess.run([str(LANESD_TEST), "--calibrate", str(out)], capture_output=True, text=True, env=env,
                       timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "cuda measured" in p.stdout, p.stdout
    text = out.read_text()
    # the cuda constants were fitted, not the built-in H100 ones (25 us, 20 bytes/ns)
    consts = {l.split("=")[0].strip(): [float(v) for v in l.split("=")[1].split()]
              for l in text.splitlines() if l[:1].isalpha() and "=" in l and "." in l.split("=")[0]}
    cuda = {k for k in consts if k.endswith(".cuda") and consts[k][1] > 0}
    assert cuda == {"map.cuda", "reduce.cuda", "acf.cuda"}, text
    assert all(tuple(consts[k]) != (25000.0, 20.0) for k in cuda), text
    # what each was fitted to: "measured acf.cuda = bytes:ns bytes:ns ..." (the fastest run per size)
    series = [re.fullmatch(r"measured (\w+\.\w+) = (.*)", l) for l in p.stdout.splitlines()]
    measured = {m[1]: [tuple(map(float, q.split(":"))) for q in m[2].split()] for m in series if m}
    assert cuda <= set(measured) and "map.inline" in measured and "text.cpu" in measured, p.stdout
    # What the model must predict, whatever the noise of a busy machine did to the timings: a piece is
    # never free, no piece of no bytes costs more than the smallest measured one, the time grows with
    # the bytes, and the smallest piece is predicted at no less than 1/16 of its measured time.
    for name, pts in measured.items():
        overhead, bw = consts[name]
        (x0, y0), (xm, ym) = pts[0], pts[-1]
        assert bw > 0 and overhead > 0, (name, overhead, bw, pts)
        assert overhead <= y0 * (1 + 1e-5), (name, overhead, pts)
        assert overhead + x0 / bw >= y0 / 16 * (1 - 1e-5), (name, overhead, bw, pts)
        assert overhead >= (y0 - x0 * ym / xm) * (1 - 1e-5), (name, overhead, bw, pts)
    # And the fit is the least squares in those bounds: an independent solver agrees (the cpu pool's
    # overhead is further raised to the thread hand-off latency, which is not printed, so not cpu).
    for name, pts in measured.items():
        if name.endswith(".cpu"):
            continue
        overhead, bw = consts[name]
        ref_o, ref_bw = reference_fit(pts)
        # Compared in ns per byte: where the timings give no slope at all (a stalled smallest piece),
        # the reference's is 0 (bytes/ns infinite) and calibrate.c's its floor, a billionth of the
        # largest piece's ns per byte.
        (_, _), (xm, ym) = pts[0], pts[-1]
        assert overhead == pytest.approx(ref_o, rel=1e-4, abs=1e-3), (name, (overhead, bw), (ref_o, ref_bw), pts)
        assert 1 / bw == pytest.approx(1 / ref_bw, rel=1e-4, abs=2e-9 * ym / xm), \
            (name, (overhead, bw), (ref_o, ref_bw), pts)
