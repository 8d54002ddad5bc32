"""Integration tests of the `lanes` CLI (clients/c) against a real lanesd, with numpy as the reference.

Design: one daemon per module (the `daemon` fixture of conftest.py); each test writes its arrays with
numpy into tmp_path, runs the CLI as a subprocess with --server pointing at the daemon, and compares
what comes back with numpy: bit-exact where the result is one correctly rounded operation (square,
affine with a=2, float32 rounding, counts, min/max, arg*) and for power against the C library's pow,
which the kernels call; within 1 ulp for numpy's own sin and power; within a tight relative tolerance
for float sums, whose summation order differs from numpy's. Error cases check the documented exit
codes (1 server/transport, 2 usage/input) and that stderr names the problem.
"""
import json
import math
import os
import socket
import subprocess
from pathlib import Path

import numpy as np
import pytest


def run(cli_path, daemon, *args, stdin=None, env=None, server=True, timeout=120):
    cmd = [str(cli_path)]
    if server:
        cmd += ["--server", daemon.address]
    cmd += [str(a) for a in args]
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout, env=full_env)


def ok(proc):
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout: {proc.stdout[-2000:]!r}\nstderr: {proc.stderr.decode(errors='replace')}"
    return proc


def assert_within_ulps(got, want, ulps=1):
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    tol = ulps * np.spacing(np.abs(want)).astype(np.float64)
    bad = ~((diff <= tol) | (got == want) | (np.isnan(got) & np.isnan(want)))
    assert not bad.any(), f"{bad.sum()} values off by more than {ulps} ulp; first at {np.argmax(bad)}: {got[bad][:3]} vs {want[bad][:3]}"


def libm_pow(x, y):
    """pow() of the C library, element by element: the kernels call it. numpy's own np.power may use
    a SIMD pow that differs from it by 1 ulp in a few percent of elements (numpy 2.x on AVX-512), so
    bit-exact comparisons use this and np.power is checked within 1 ulp."""
    return np.frompyfunc(math.pow, 2, 1)(x, y).astype(np.float64)


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(20261121)


# ---- info and health ----

def test_info(cli_path, daemon):
    p = ok(run(cli_path, daemon, "info"))
    out = p.stdout.decode()
    assert out.startswith("lanesd ")
    assert "backends:" in out and "cpu" in out
    assert "map functions:" in out and "square" in out and "affine" in out
    assert "reduce ops:" in out and "histogram" in out


def test_info_json(cli_path, daemon):
    info = json.loads(ok(run(cli_path, daemon, "info", "--json")).stdout)
    assert "square" in info["map_functions"]
    assert "sum" in info["reduce_ops"]
    assert any(b["name"] == "cpu" and b["available"] for b in info["backends"])
    assert info["max_message_bytes"] >= 4 << 20


def test_health(cli_path, daemon):
    p = ok(run(cli_path, daemon, "health"))
    assert p.stdout.decode().strip() == "SERVING"


def test_health_unknown_service_fails(cli_path, daemon):
    p = run(cli_path, daemon, "health", "--service", "no.such.Service")
    assert p.returncode == 1, p.stderr


def test_server_from_environment(cli_path, daemon):
    p = ok(run(cli_path, daemon, "health", server=False, env={"LANES_SERVER": daemon.address}))
    assert p.stdout.decode().strip() == "SERVING"


# ---- map ----

def test_map_square_npy(cli_path, daemon, tmp_path, rng):
    x = rng.standard_normal(300_001)  # three chunks of the default 1 MiB, the last one short
    np.save(tmp_path / "x.npy", x)
    ok(run(cli_path, daemon, "map", "square", "--in", tmp_path / "x.npy", "--out", tmp_path / "y.npy"))
    y = np.load(tmp_path / "y.npy")
    assert y.dtype == np.float64 and y.shape == x.shape
    np.testing.assert_array_equal(y, x * x)


def test_map_small_chunks_keep_order(cli_path, daemon, tmp_path, rng):
    x = rng.standard_normal(50_000)
    np.save(tmp_path / "x.npy", x)
    ok(run(cli_path, daemon, "map", "square", "--in", tmp_path / "x.npy", "--out", tmp_path / "y.npy",
           "--chunk-bytes", "8K"))
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), x * x)


def test_map_large_stream(cli_path, daemon, tmp_path, rng):
    x = rng.random(3_000_000)  # 24 MB in, 24 MB back
    np.save(tmp_path / "x.npy", x)
    p = ok(run(cli_path, daemon, "map", "square", "--in", tmp_path / "x.npy", "--out", tmp_path / "y.npy",
               "--summary"))
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), x * x)
    err = p.stderr.decode()
    assert "backend:" in err and "elements: 3000000" in err


def test_map_power_param(cli_path, daemon, tmp_path, rng):
    x = rng.standard_normal(10_000) * 3
    np.save(tmp_path / "x.npy", x)
    ok(run(cli_path, daemon, "map", "power", "--in", tmp_path / "x.npy", "--param", "n=3",
           "--out", tmp_path / "y.npy"))
    y = np.load(tmp_path / "y.npy")
    np.testing.assert_array_equal(y, libm_pow(x, 3.0))
    assert_within_ulps(y, np.power(x, 3.0), ulps=1)


def test_map_power_two_inputs(cli_path, daemon, tmp_path, rng):
    x = rng.random(20_000) * 10
    e = rng.standard_normal(20_000) * 4
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "e.npy", e)
    ok(run(cli_path, daemon, "map", "power", "--in", tmp_path / "x.npy", "--in", tmp_path / "e.npy",
           "--out", tmp_path / "y.npy"))
    y = np.load(tmp_path / "y.npy")
    np.testing.assert_array_equal(y, libm_pow(x, e))
    assert_within_ulps(y, np.power(x, e), ulps=1)


def test_map_affine(cli_path, daemon, tmp_path, rng):
    x = rng.standard_normal(10_000)
    np.save(tmp_path / "x.npy", x)
    ok(run(cli_path, daemon, "map", "affine", "--in", tmp_path / "x.npy", "--param", "a=2",
           "--param", "b=-1", "--out", tmp_path / "y.npy"))
    # 2*x is exact, so a*x + b is one rounding whether or not the kernel fuses it.
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), 2 * x - 1)


def test_map_sin_within_one_ulp(cli_path, daemon, tmp_path, rng):
    x = rng.uniform(-100, 100, 100_000)
    np.save(tmp_path / "x.npy", x)
    ok(run(cli_path, daemon, "map", "sin", "--in", tmp_path / "x.npy", "--out", tmp_path / "y.npy"))
    y = np.load(tmp_path / "y.npy")
    assert_within_ulps(y, np.sin(x), ulps=1)
    np.testing.assert_array_equal(y, np.frompyfunc(math.sin, 1, 1)(x).astype(np.float64))  # libm's sin


def test_map_float32_output(cli_path, daemon, tmp_path, rng):
    x = rng.standard_normal(10_000)
    np.save(tmp_path / "x.npy", x)
    ok(run(cli_path, daemon, "map", "square", "--in", tmp_path / "x.npy", "--out-dtype", "float32",
           "--out", tmp_path / "y.npy"))
    y = np.load(tmp_path / "y.npy")
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, (x * x).astype(np.float32))


def test_map_int_and_float32_inputs(cli_path, daemon, tmp_path):
    i = np.arange(-500, 500, dtype=np.int64)
    f = np.linspace(-2, 2, 1000, dtype=np.float32)
    np.save(tmp_path / "i.npy", i)
    np.save(tmp_path / "f.npy", f)
    ok(run(cli_path, daemon, "map", "square", "--in", tmp_path / "i.npy", "--out", tmp_path / "yi.npy"))
    np.testing.assert_array_equal(np.load(tmp_path / "yi.npy"), (i * i).astype(np.float64))
    ok(run(cli_path, daemon, "map", "square", "--in", tmp_path / "f.npy", "--out", tmp_path / "yf.npy"))
    f64 = f.astype(np.float64)
    np.testing.assert_array_equal(np.load(tmp_path / "yf.npy"), f64 * f64)


def test_map_keeps_the_shape(cli_path, daemon, tmp_path, rng):
    # a (3, 4) array gives a (3, 4) result, as the Python client's map does (it used to come back (12,))
    for shape in [(3, 4), (2, 3, 5), (30, 1), (1, 7)]:
        x = rng.standard_normal(shape)
        np.save(tmp_path / "x.npy", x)
        ok(run(cli_path, daemon, "map", "square", "--in", tmp_path / "x.npy", "--out", tmp_path / "y.npy"))
        y = np.load(tmp_path / "y.npy")
        assert y.shape == shape
        np.testing.assert_array_equal(y, x * x)
    np.save(tmp_path / "s.npy", np.float64(3.0))  # a 0-d array stays 0-d
    ok(run(cli_path, daemon, "map", "square", "--in", tmp_path / "s.npy", "--out", tmp_path / "y.npy"))
    y = np.load(tmp_path / "y.npy")
    assert y.shape == () and y == 9.0


def test_map_fortran_order_input(cli_path, daemon, tmp_path, rng):
    x = np.asfortranarray(rng.standard_normal((5, 3, 4)))
    np.save(tmp_path / "x.npy", x)
    assert np.load(tmp_path / "x.npy").flags.f_contiguous  # the file really is Fortran-ordered
    ok(run(cli_path, daemon, "map", "x*x + i", "--in", tmp_path / "x.npy", "--out", tmp_path / "y.npy"))
    y = np.load(tmp_path / "y.npy")
    # i is the element's index in C order, so the element order the daemon saw shows in the result
    want = x * x + np.arange(x.size, dtype=np.float64).reshape(x.shape)
    assert y.shape == x.shape
    np.testing.assert_array_equal(y, want)


def test_map_broadcasts_like_the_python_client(cli_path, daemon, tmp_path, rng):
    import lanes
    a = rng.standard_normal((4, 1, 3))
    b = rng.standard_normal((5, 1))
    c = rng.standard_normal((3,))
    for name, v in (("a", a), ("b", b), ("c", c)):
        np.save(tmp_path / f"{name}.npy", v)
    ok(run(cli_path, daemon, "map", "a*b - c", "--in", f"a={tmp_path / 'a.npy'}", "--in", f"b={tmp_path / 'b.npy'}",
           "--in", f"c={tmp_path / 'c.npy'}", "--out", tmp_path / "y.npy"))
    y = np.load(tmp_path / "y.npy")
    with lanes.Client(daemon.address) as client:
        want = client.map("a*b - c", a=a, b=b, c=c)
    assert y.shape == want.shape == (4, 5, 3)
    np.testing.assert_array_equal(y, want)
    np.testing.assert_array_equal(y, a * b - c)
    # a text input is 1-D: it broadcasts against the last dimension
    np.savetxt(tmp_path / "t.txt", c, fmt="%.17g")
    np.save(tmp_path / "pa.npy", np.abs(a))
    ok(run(cli_path, daemon, "map", "power", "--in", tmp_path / "pa.npy", "--in", tmp_path / "t.txt",
           "--out", tmp_path / "p.npy"))
    p = np.load(tmp_path / "p.npy")
    assert p.shape == (4, 1, 3)
    np.testing.assert_array_equal(p, libm_pow(*np.broadcast_arrays(np.abs(a), c)))


def test_map_shapes_that_do_not_broadcast(cli_path, daemon, tmp_path):
    np.save(tmp_path / "a.npy", np.ones((3, 4)))
    np.save(tmp_path / "b.npy", np.ones((5,)))
    p = run(cli_path, daemon, "map", "power", "--in", tmp_path / "a.npy", "--in", tmp_path / "b.npy")
    assert p.returncode == 2, p.stderr
    err = p.stderr.decode()
    assert "cannot be broadcast together" in err and "(3, 4)" in err and "(5,)" in err, err


def test_reduce_and_acf_read_fortran_order_as_numpy(cli_path, daemon, tmp_path):
    x = np.asfortranarray(np.arange(12.0).reshape(3, 4) % 5)  # max 4.0 first at C index 4, F index 1
    np.save(tmp_path / "x.npy", x)
    assert reduce_out(cli_path, daemon, "argmax", "--in", tmp_path / "x.npy") == str(np.argmax(x)) == "4"
    # acf takes one series: (1, n) and (n, 1) as the Python client does, a (3, 4) array is refused
    s = np.sin(np.arange(50.0))[:, None]
    np.save(tmp_path / "s.npy", s)
    got = np.loadtxt(ok(run(cli_path, daemon, "acf", tmp_path / "s.npy", "--nlags", "3")).stdout.decode().splitlines())
    import lanes
    with lanes.Client(daemon.address) as client:
        np.testing.assert_array_equal(got[:, 1], client.acf(s, nlags=3))
    p = run(cli_path, daemon, "acf", tmp_path / "x.npy")
    assert p.returncode == 2 and "shape (3, 4)" in p.stderr.decode(), p.stderr


# Every dtype the Python client sends (lanes.wire_dtype), in both byte orders where that means something.
NPY_DTYPES = ["<f8", "<f4", "<i8", "<i4", ">f8", ">f4", ">i8", ">i4", "<f2", ">f2", "|b1", "|i1", "|u1",
              "<i2", ">i2", "<u2", ">u2", "<u4", ">u4", "<u8", ">u8"]
if np.dtype(np.longdouble).itemsize == 16 and np.finfo(np.longdouble).nmant == 63:
    NPY_DTYPES += [np.dtype(np.longdouble).newbyteorder("<").str, np.dtype(np.longdouble).newbyteorder(">").str]


def dtype_sample(dt, rng):
    dt = np.dtype(dt)
    if dt.kind == "b":
        v = rng.random(257) < 0.5
    elif dt.kind == "f":
        v = np.concatenate([rng.standard_normal(250) * 1e3, [0.0, -0.0, np.inf, -np.inf, 1e-7, 65504.0, 3.0]])
    else:
        info = np.iinfo(dt)
        native = dt.newbyteorder("=")
        v = np.concatenate([rng.integers(info.min, info.max, 250, dtype=native),
                            np.array([info.min, info.max, 0, 1, info.max - 1], dtype=native)])
    if dt.kind == "f" and dt.itemsize == 16:
        v = v.astype(np.longdouble) / 3  # values a float64 cannot hold: the conversion must round as numpy's
    return v.astype(dt).reshape(-1, 1)  # 2-D, so the shape travels too


@pytest.mark.parametrize("descr", NPY_DTYPES)
def test_npy_dtypes_convert_as_the_python_client(cli_path, daemon, tmp_path, rng, descr):
    import lanes
    x = dtype_sample(descr, rng)
    np.save(tmp_path / "x.npy", x)
    assert np.load(tmp_path / "x.npy").dtype.str == np.dtype(descr).str
    ok(run(cli_path, daemon, "map", "x", "--in", tmp_path / "x.npy", "--out", tmp_path / "y.npy"))
    y = np.load(tmp_path / "y.npy")
    wire = lanes.wire_dtype(x.dtype)
    with lanes.Client(daemon.address) as client:
        want = client.map("x", x)
        want_sum = client.reduce("sum", x)
        want_max = client.reduce("max", x)
    assert y.shape == want.shape == x.shape
    np.testing.assert_array_equal(y, want)
    np.testing.assert_array_equal(y, x.astype(wire).astype(np.float64))  # numpy's own conversion
    got_sum = reduce_out(cli_path, daemon, "sum", "--in", tmp_path / "x.npy")
    got_max = reduce_out(cli_path, daemon, "max", "--in", tmp_path / "x.npy")
    if wire.kind == "i":  # integers print as integers, exact
        assert got_sum == str(int(want_sum)) and got_max == str(int(want_max))
    else:
        # the Python client gives numpy's scalar type (float32 for float32 input): compare in that type
        same = type(want_sum)
        assert same(float(got_sum)) == want_sum or (math.isnan(float(got_sum)) and np.isnan(want_sum))
        assert type(want_max)(float(got_max)) == want_max


@pytest.mark.parametrize("dtype, needle", [
    ("<c16", "complex data ('<c16') is not supported"),
    ("<c8", "complex data ('<c8') is not supported"),
    ("<M8[s]", "dtype '<M8[s]' is not supported"),
    ("<U3", "dtype '<U3' is not supported"),
])
def test_npy_dtypes_the_python_client_refuses(cli_path, daemon, tmp_path, dtype, needle):
    np.save(tmp_path / "x.npy", np.zeros(3, dtype=dtype))
    p = run(cli_path, daemon, "map", "square", "--in", tmp_path / "x.npy")
    assert p.returncode == 2, p.stderr
    err = p.stderr.decode()
    assert needle in err and "x.npy" in err, err


def test_map_text_in_and_out(cli_path, daemon, tmp_path, rng):
    x = rng.standard_normal(1000)
    np.savetxt(tmp_path / "x.txt", x, fmt="%.17g")
    ok(run(cli_path, daemon, "map", "square", "--in", tmp_path / "x.txt", "--out", tmp_path / "y.txt"))
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "y.txt"), x * x)


def test_map_stdin_to_stdout(cli_path, daemon):
    p = ok(run(cli_path, daemon, "map", "affine", "--in", "-", "--param", "a=0.5", "--param", "b=1",
               stdin=b"1 2\n3\n-4.5\n"))
    assert p.stdout.decode().split() == ["1.5", "2", "2.5", "-1.25"]


def test_map_float32_text_output(cli_path, daemon):
    p = ok(run(cli_path, daemon, "map", "square", "--in", "-", "--out-dtype", "float32", "--out", "-",
               stdin=b"0.1\n3\n"))
    lines = p.stdout.decode().split()
    assert np.float32(lines[0]) == np.float32(0.1 * 0.1) and lines[1] == "9"


def test_map_raw_in_and_out(cli_path, daemon, tmp_path, rng):
    x = rng.standard_normal(5000).astype(np.float32)
    x.tofile(tmp_path / "x.bin")
    ok(run(cli_path, daemon, "map", "square", "--in", tmp_path / "x.bin", "--dtype", "float32",
           "--out", tmp_path / "y.bin", "--out-dtype", "float32"))
    y = np.fromfile(tmp_path / "y.bin", dtype=np.float32)
    x64 = x.astype(np.float64)
    np.testing.assert_array_equal(y, (x64 * x64).astype(np.float32))


def test_map_format_overrides_extension(cli_path, daemon, tmp_path):
    np.save(tmp_path / "x.npy", np.array([1.0, 2.0, 3.0]))
    ok(run(cli_path, daemon, "map", "cube", "--in", tmp_path / "x.npy", "--out", tmp_path / "y.dat",
           "--format", "npy"))
    np.testing.assert_array_equal(np.load(tmp_path / "y.dat"), [1.0, 8.0, 27.0])
    ok(run(cli_path, daemon, "map", "cube", "--in", tmp_path / "x.npy", "--out", tmp_path / "y.out"))
    np.testing.assert_array_equal(np.fromfile(tmp_path / "y.out"), [1.0, 8.0, 27.0])  # raw by default


def test_map_empty_input(cli_path, daemon, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros(0))
    ok(run(cli_path, daemon, "map", "square", "--in", tmp_path / "x.npy", "--out", tmp_path / "y.npy"))
    assert np.load(tmp_path / "y.npy").shape == (0,)


# ---- reduce ----

def reduce_out(cli_path, daemon, *args):
    return ok(run(cli_path, daemon, "reduce", *args)).stdout.decode().strip()


def test_reduce_float_ops(cli_path, daemon, tmp_path, rng):
    x = rng.standard_normal(250_000) + 0.25
    np.save(tmp_path / "x.npy", x)
    path = tmp_path / "x.npy"
    assert float(reduce_out(cli_path, daemon, "sum", "--in", path)) == pytest.approx(np.sum(x), rel=1e-12)
    assert float(reduce_out(cli_path, daemon, "mean", "--in", path)) == pytest.approx(np.mean(x), rel=1e-12)
    assert float(reduce_out(cli_path, daemon, "var", "--in", path, "--ddof", "1")) == \
        pytest.approx(np.var(x, ddof=1), rel=1e-12)
    assert float(reduce_out(cli_path, daemon, "std", "--in", path)) == pytest.approx(np.std(x), rel=1e-12)
    assert float(reduce_out(cli_path, daemon, "min", "--in", path)) == np.min(x)
    assert float(reduce_out(cli_path, daemon, "max", "--in", path)) == np.max(x)
    assert reduce_out(cli_path, daemon, "argmax", "--in", path) == str(np.argmax(x))
    assert reduce_out(cli_path, daemon, "argmin", "--in", path) == str(np.argmin(x))
    assert reduce_out(cli_path, daemon, "count", "--in", path) == str(x.size)


def test_reduce_small_exact(cli_path, daemon, tmp_path):
    x = np.array([3.0, -1.0, 4.0, 1.0, -5.0, 9.0, 2.0, 6.0])
    np.save(tmp_path / "x.npy", x)
    assert reduce_out(cli_path, daemon, "sum", "--in", tmp_path / "x.npy") == "19"
    assert float(reduce_out(cli_path, daemon, "mean", "--in", tmp_path / "x.npy")) == np.mean(x)
    assert float(reduce_out(cli_path, daemon, "var", "--in", tmp_path / "x.npy", "--ddof", "1")) == \
        pytest.approx(np.var(x, ddof=1), rel=1e-15)


def test_reduce_integers_print_as_integers(cli_path, daemon, tmp_path):
    x = np.arange(1, 100_001, dtype=np.int64) * 1_000_003
    np.save(tmp_path / "x.npy", x)
    assert reduce_out(cli_path, daemon, "sum", "--in", tmp_path / "x.npy") == str(int(np.sum(x)))
    assert reduce_out(cli_path, daemon, "max", "--in", tmp_path / "x.npy") == str(int(np.max(x)))
    i32 = np.array([5, -7, 3], dtype=np.int32)
    np.save(tmp_path / "i.npy", i32)
    assert reduce_out(cli_path, daemon, "min", "--in", tmp_path / "i.npy") == "-7"
    assert reduce_out(cli_path, daemon, "sum", "--in", tmp_path / "i.npy") == "1"


def test_reduce_float32_min(cli_path, daemon, tmp_path, rng):
    x = rng.standard_normal(1000).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    assert float(reduce_out(cli_path, daemon, "min", "--in", tmp_path / "x.npy")) == float(np.min(x))


def test_reduce_histogram(cli_path, daemon, tmp_path, rng):
    x = rng.random(100_000) * 1.2 - 0.1  # some values fall outside the range
    np.save(tmp_path / "x.npy", x)
    out = reduce_out(cli_path, daemon, "histogram", "--in", tmp_path / "x.npy", "--bins", "5", "--range", "0:1")
    rows = [line.split() for line in out.splitlines()]
    counts, edges = np.histogram(x, bins=5, range=(0, 1))
    assert len(rows) == 5
    assert [int(r[2]) for r in rows] == counts.tolist()
    np.testing.assert_allclose([float(r[0]) for r in rows], edges[:-1], rtol=0, atol=1e-15)
    np.testing.assert_allclose([float(r[1]) for r in rows], edges[1:], rtol=0, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_reduce_histogram_default_range(cli_path, daemon, tmp_path, rng, dtype):
    x = (rng.standard_normal(50_000) * 100).astype(dtype)
    np.save(tmp_path / "x.npy", x)
    out = reduce_out(cli_path, daemon, "histogram", "--in", tmp_path / "x.npy", "--bins", "7")
    rows = [line.split() for line in out.splitlines()]
    counts, edges = np.histogram(x, bins=7)
    assert [int(r[2]) for r in rows] == counts.tolist()
    np.testing.assert_array_equal([float(r[0]) for r in rows] + [float(rows[-1][1])], edges.astype(np.float64))


def test_reduce_histogram_of_nan_needs_a_range(cli_path, daemon, tmp_path):
    np.save(tmp_path / "x.npy", np.array([1.0, np.nan]))
    p = run(cli_path, daemon, "reduce", "histogram", "--in", tmp_path / "x.npy")
    assert p.returncode == 2 and "not finite" in p.stderr.decode()


def test_stream_and_unary_calls_agree(cli_path, daemon, tmp_path, rng):
    # Small jobs go through MapOnce/ReduceOnce; --stream forces Map/Reduce. Same bits either way.
    x = rng.standard_normal(1000)
    np.save(tmp_path / "x.npy", x)
    for extra in ([], ["--stream"]):
        ok(run(cli_path, daemon, "map", "square", "--in", tmp_path / "x.npy", "--out", tmp_path / "y.npy", *extra))
        np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), x * x)
    sums = {reduce_out(cli_path, daemon, "sum", "--in", tmp_path / "x.npy", *extra) for extra in ([], ["--stream"])}
    assert len(sums) == 1
    p = ok(run(cli_path, daemon, "map", "square", "--in", tmp_path / "x.npy", "--out", tmp_path / "y.npy",
               "--stream", "--chunk-bytes", "1K", "--summary"))
    assert "chunks: 8" in p.stderr.decode()  # 8000 bytes in 1 KiB chunks


def test_reduce_text_stdin(cli_path, daemon):
    p = ok(run(cli_path, daemon, "reduce", "sum", "--in", "-", "--dtype", "int64", stdin=b"1 2 3\n4\n"))
    assert p.stdout.decode().strip() == "10"


def test_reduce_summary(cli_path, daemon, tmp_path):
    np.save(tmp_path / "x.npy", np.ones(1000))
    p = ok(run(cli_path, daemon, "reduce", "sum", "--in", tmp_path / "x.npy", "--summary"))
    assert p.stdout.decode().strip() == "1000"
    assert "elements: 1000" in p.stderr.decode()


# ---- errors ----

def test_unknown_function(cli_path, daemon, tmp_path):
    np.save(tmp_path / "x.npy", np.ones(4))
    p = run(cli_path, daemon, "map", "sine", "--in", tmp_path / "x.npy")
    assert p.returncode == 1
    err = p.stderr.decode()
    assert err.startswith("lanes: INVALID_ARGUMENT: ") and "sine" in err


def test_unknown_reduce_op(cli_path, daemon, tmp_path):
    np.save(tmp_path / "x.npy", np.ones(4))
    p = run(cli_path, daemon, "reduce", "median", "--in", tmp_path / "x.npy")
    assert p.returncode == 1
    assert "INVALID_ARGUMENT" in p.stderr.decode() and "median" in p.stderr.decode()


def test_missing_param(cli_path, daemon, tmp_path):
    np.save(tmp_path / "x.npy", np.ones(4))
    p = run(cli_path, daemon, "map", "power", "--in", tmp_path / "x.npy")
    assert p.returncode == 1
    assert "INVALID_ARGUMENT" in p.stderr.decode()


def test_empty_min_is_a_server_error(cli_path, daemon, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros(0))
    p = run(cli_path, daemon, "reduce", "min", "--in", tmp_path / "x.npy")
    assert p.returncode == 1
    assert p.stderr.decode().startswith("lanes: ")


@pytest.mark.parametrize("args, needle", [
    (["map", "square"], "--in"),
    (["reduce", "sum"], "--in"),
    (["map", "--in", "x.npy"], "FUNCTION"),
    (["map", "square", "--in", "x.npy", "--bogus"], "--bogus"),
    (["map", "square", "--in", "x.npy", "--param", "n"], "--param"),
    (["map", "square", "--in", "x.npy", "--out-dtype", "int8"], "--out-dtype"),
    (["map", "square", "--in", "x.npy", "--chunk-bytes", "5M"], "--chunk-bytes"),
    (["map", "square", "--in", "x.npy", "--format", "json"], "--format"),
    (["reduce", "sum", "--in", "x.npy", "--range", "0-1"], "--range"),
    (["frobnicate"], "frobnicate"),
    ([], "COMMAND"),
])
def test_usage_errors(cli_path, daemon, tmp_path, args, needle):
    np.save(tmp_path / "x.npy", np.ones(4))
    args = [str(tmp_path / a) if a == "x.npy" else a for a in args]
    p = run(cli_path, daemon, *args)
    assert p.returncode == 2, p.stderr
    assert needle in p.stderr.decode()


def test_input_errors(cli_path, daemon, tmp_path):
    p = run(cli_path, daemon, "map", "square", "--in", tmp_path / "missing.npy")
    assert p.returncode == 2 and "missing.npy" in p.stderr.decode()
    (tmp_path / "x.bin").write_bytes(b"\0" * 16)
    p = run(cli_path, daemon, "map", "square", "--in", tmp_path / "x.bin")
    assert p.returncode == 2 and "--dtype" in p.stderr.decode()
    np.save(tmp_path / "a.npy", np.ones(3))
    np.save(tmp_path / "b.npy", np.ones(4))
    p = run(cli_path, daemon, "map", "power", "--in", tmp_path / "a.npy", "--in", tmp_path / "b.npy")
    assert p.returncode == 2 and "cannot be broadcast together" in p.stderr.decode()
    p = run(cli_path, daemon, "map", "square", "--in", "-", stdin=b"1 2 x\n")
    assert p.returncode == 2 and "'x'" in p.stderr.decode()


def test_help(cli_path, daemon):
    for args in (["--help"], ["map", "--help"], ["reduce", "--help"], ["info", "--help"], ["health", "--help"]):
        p = ok(run(cli_path, daemon, *args, server=False))
        assert "Usage: lanes" in p.stdout.decode()


ALL_COMMANDS = ("info", "health", "map", "reduce", "acf", "wordcount", "wordacf", "corpus")


def test_help_texts_are_printed_as_written(cli_path, daemon):
    # help printed with fputs once showed printf escapes: "(%%.18e)" and "%% ` ! *"
    helps = {cmd: ok(run(cli_path, daemon, cmd, "--help", server=False)).stdout.decode() for cmd in ALL_COMMANDS}
    helps["lanes"] = ok(run(cli_path, daemon, "--help", server=False)).stdout.decode()
    for cmd, text in helps.items():
        assert "%%" not in text, (cmd, text)
        assert "process_pool" not in text, (cmd, text)
    assert "(%.18e)" in helps["wordacf"]
    assert ". , ; : ? $ @ ^ < > #\n% ` ! *" in helps["wordcount"]
    assert "with %.17g." in helps["reduce"]  # printed through printf: one %
    for cmd in ("map", "reduce", "acf", "wordcount", "wordacf", "corpus"):
        assert "auto (default), inline, cpu, process-pool or cuda" in helps[cmd], cmd


def test_backend_is_spelled_process_pool(cli_path, daemon, tmp_path):
    (tmp_path / "b.txt").write_text("one two two\n")
    p = run(cli_path, daemon, "wordcount", tmp_path / "b.txt", "--backend", "pool")
    assert p.returncode == 2 and "(auto, inline, cpu, process-pool, cuda)" in p.stderr.decode(), p.stderr
    for spelling in ("process-pool", "process_pool"):  # the old spelling stays an alias
        out = tmp_path / spelling
        p = ok(run(cli_path, daemon, "corpus", tmp_path / "b.txt", "--out", out, "--backend", spelling,
                   "--summary"))
        assert "backend: process-pool" in p.stderr.decode(), p.stderr
        assert (out / "b.dat").read_text() == "two 2 66.66666666666666\none 1 33.33333333333333\n"


def summary_fields(stderr):
    """The --summary lines as {name: text}: 'elements: 3  chunks: 1 ...' and 'seconds: queued 0.1 ...'."""
    fields = {}
    for line in stderr.splitlines():
        if line.startswith("elements:"):
            parts = line.replace("bytes in", "bytes_in").replace("bytes out", "bytes_out").split()
            fields.update(zip([k.rstrip(":") for k in parts[0::2]], parts[1::2]))
        elif line.startswith("seconds:"):
            parts = line.split()[1:]
            fields.update({f"{k}_seconds": v for k, v in zip(parts[0::2], parts[1::2])})
    return fields


def test_summary_counts_are_integers_and_times_floats(cli_path, daemon, tmp_path, rng):
    x = rng.standard_normal(300_000)
    np.save(tmp_path / "x.npy", x)
    p = ok(run(cli_path, daemon, "map", "square", "--in", tmp_path / "x.npy", "--out", tmp_path / "y.npy",
               "--summary"))
    f = summary_fields(p.stderr.decode())
    counts = ("elements", "chunks", "bytes_in", "bytes_out", "threads")
    assert sorted(f) == sorted(counts + ("queued_seconds", "compute_seconds", "stream_seconds")), f
    for k in counts:
        assert f[k].isdigit(), (k, f[k])
    assert int(f["elements"]) == x.size and int(f["bytes_in"]) == x.nbytes and int(f["bytes_out"]) == x.nbytes
    for k in ("queued_seconds", "compute_seconds", "stream_seconds"):
        assert "." in f[k] and float(f[k]) >= 0, (k, f[k])
    info = json.loads(ok(run(cli_path, daemon, "info", "--json")).stdout)
    for k in ("cpu_threads", "cq_threads", "chunk_bytes", "max_message_bytes", "inline_threshold", "max_calls",
              "pid", "online_cpus"):
        assert type(info[k]) is int, (k, info[k])
    assert type(info["uptime_seconds"]) is float
    for d in info["devices"]:
        assert type(d["memory_bytes"]) is int and type(d["index"]) is int


def test_server_down_is_unavailable(cli_path, daemon, tmp_path):
    np.save(tmp_path / "x.npy", np.ones(4))
    with socket.socket() as s:  # bound but not listening for the whole test: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        for args in (["info"], ["health"], ["map", "square", "--in", tmp_path / "x.npy"],
                     ["reduce", "sum", "--in", tmp_path / "x.npy"]):
            p = run(cli_path, daemon, "--server", f"127.0.0.1:{port}", *args, server=False)
            assert p.returncode == 1, args
            assert p.stderr.decode().startswith("lanes: UNAVAILABLE: "), p.stderr


def test_deadline_exceeded(cli_path, daemon, tmp_path, rng):
    np.save(tmp_path / "x.npy", rng.random(2_000_000))
    p = run(cli_path, daemon, "--timeout", "0.000001", "map", "square", "--in", tmp_path / "x.npy",
            "--out", tmp_path / "y.npy")
    assert p.returncode == 1
    assert "DEADLINE_EXCEEDED" in p.stderr.decode()


def test_deadline_mid_stream_always_ends(cli_path, daemon, tmp_path, rng):
    # A deadline that expires while chunks are in flight: gRPC core 1.51 sometimes never completes such
    # a call; the client must give up on it (about 1 s after the deadline) rather than hang.
    # A fast machine may finish in time: then the result must be right. Either way the command ends
    # (the subprocess timeout is only a hang guard).
    x = rng.random(5_000_000)
    np.save(tmp_path / "x.npy", x)
    for timeout in ("0.005", "0.02", "0.05"):
        out = tmp_path / f"y{timeout}.npy"
        p = run(cli_path, daemon, "--timeout", timeout, "map", "square", "--in", tmp_path / "x.npy",
                "--out", out)
        if p.returncode == 0:
            np.testing.assert_array_equal(np.load(out), x * x)
            continue
        assert p.returncode == 1, p.stderr
        assert p.stderr.decode().startswith("lanes: DEADLINE_EXCEEDED: ")


# ---- issue 4: acf, wordcount, wordacf and corpus ----
# References: the word-count course's .dat written again in a few lines of Python (below), the pinned
# course values of pg99, statsmodels' acf, and for corpus the single-document commands' own outputs.

GUTENBERG = Path(__file__).resolve().parents[3] / "shared" / "data" / "gutenberg"
COURSE_DELIMITERS = ".,;:?$@^<>#%`!*-=()[]{}/\"'"


def book(name):
    path = GUTENBERG / name
    assert path.exists(), f"{path} is missing: the tests need ../shared/data beside the checkout"
    return path


def course_words(text, min_length=0):
    for ch in COURSE_DELIMITERS:
        text = text.replace(ch, " ")
    return [w for w in (w.lower() for w in text.split()) if len(w) >= min_length]


def course_table(words):
    counts = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    return sorted(counts.items(), key=lambda kv: kv[1], reverse=True)  # stable: ties by first use


def course_dat(text, min_length=0, top=0):
    """The course's .dat: 'word count pct' lines, pct = repr(count / total * 100)."""
    words = course_words(text, min_length)
    table = course_table(words)
    if top:
        table = table[:top]
    return "".join(f"{w} {c} {c / len(words) * 100!r}\n" for w, c in table).encode()


@pytest.mark.parametrize("name", ["pg99.txt", "pg58.txt"])
def test_wordcount_equals_course_dat(cli_path, daemon, name):
    path = book(name)
    want = course_dat(path.read_text(encoding="utf-8"))
    assert ok(run(cli_path, daemon, "wordcount", path)).stdout == want
    # cut anywhere: small pieces split code points and words
    assert ok(run(cli_path, daemon, "wordcount", path, "--chunk-bytes", "997")).stdout == want
    assert ok(run(cli_path, daemon, "wordcount", "-", stdin=path.read_bytes())).stdout == want


def test_wordcount_pinned_lines(cli_path, daemon):
    lines = ok(run(cli_path, daemon, "wordcount", book("pg99.txt"))).stdout.decode().splitlines()
    assert lines[:3] == ["the 712 6.233038606320581", "of 416 3.6417753654906764",
                         "and 366 3.204061980215355"]


def test_wordcount_min_length_and_top(cli_path, daemon):
    path = book("pg58.txt")
    want = course_dat(path.read_text(encoding="utf-8"), min_length=4, top=25)
    p = ok(run(cli_path, daemon, "wordcount", path, "--min-length", "4", "--top", "25", "--summary"))
    assert p.stdout == want
    assert "distinct" in p.stderr.decode() and "backend:" in p.stderr.decode()


def test_wordcount_small_texts(cli_path, daemon):
    assert ok(run(cli_path, daemon, "wordcount", "-", stdin=b"")).stdout == b""
    text = "Ünïcode, ÜNÏCODE; straße (STRASSE) ΣΑΣ a-b a'b\n"
    assert ok(run(cli_path, daemon, "wordcount", "-", stdin=text.encode())).stdout == course_dat(text)


def test_wordacf_course_pinned_rows(cli_path, daemon):
    rows = ok(run(cli_path, daemon, "wordacf", book("pg99.txt"), "--mode", "course")).stdout.decode().splitlines()
    assert len(rows) == 100
    assert rows[:3] == ["1.000000000000000000e+00,1.000000000000000000e+00",
                        "2.000000000000000000e+00,0.000000000000000000e+00",
                        "3.000000000000000000e+00,7.339029896867326451e-03"]
    assert rows[99] == "1.000000000000000000e+02,2.859623379265031559e-02"


def test_wordacf_exact_against_reference(cli_path, daemon):
    path = book("pg58.txt")
    p = ok(run(cli_path, daemon, "wordacf", path, "--nwords", "5", "--timesteps", "30", "--chunk-bytes", "4096"))
    got = np.loadtxt(p.stdout.decode().splitlines(), delimiter=",")
    assert got.shape == (30, 2) and list(got[:, 0]) == list(range(30))
    words = course_words(path.read_text(encoding="utf-8"))
    top = [w for w, _ in course_table(words)[:5]]
    want = np.zeros(30)
    for w in top:
        pos = {i for i, x in enumerate(words) if x == w}
        want += np.array([sum(1 for i in pos if i + t in pos) / len(pos) for t in range(30)])
    np.testing.assert_allclose(got[:, 1], want / 5, rtol=1e-14, atol=0)


def test_acf_text_columns_match_statsmodels(cli_path, daemon, tmp_path, rng):
    stattools = pytest.importorskip("statsmodels.tsa.stattools")
    x = np.cumsum(rng.standard_normal(3000))
    np.save(tmp_path / "x.npy", x)
    p = ok(run(cli_path, daemon, "acf", tmp_path / "x.npy", "--nlags", "40", "--alpha", "0.05", "--qstat"))
    lines = p.stdout.decode().splitlines()
    assert lines[0] == "# lag acf lower upper qstat pvalue"
    got = np.loadtxt(lines)
    acf, confint, qstat, pvalues = stattools.acf(x, nlags=40, alpha=0.05, qstat=True)
    assert got.shape == (41, 6) and list(got[:, 0]) == list(range(41))
    np.testing.assert_allclose(got[:, 1], acf, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got[:, 2:4], confint, rtol=1e-12, atol=1e-14)
    assert np.isnan(got[0, 4:]).all()
    np.testing.assert_allclose(got[1:, 4], qstat, rtol=1e-12)
    np.testing.assert_allclose(got[1:, 5], pvalues, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("extra, kwargs", [
    ([], {}),                                                    # statsmodels' default nlags
    (["--adjusted", "--method", "fft", "--nlags", "500"], {"adjusted": True, "nlags": 500}),
    (["--stream", "--chunk-bytes", "10000", "--method", "direct", "--nlags", "70"], {"nlags": 70}),
])
def test_acf_npy_outputs_match_statsmodels(cli_path, daemon, tmp_path, rng, extra, kwargs):
    stattools = pytest.importorskip("statsmodels.tsa.stattools")
    x = rng.standard_normal(20000).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "r.npy"
    ok(run(cli_path, daemon, "acf", tmp_path / "x.npy", "--alpha", "0.1", "--qstat", "--out", out, *extra))
    acf, confint, qstat, pvalues = stattools.acf(x.astype(np.float64), alpha=0.1, qstat=True, **kwargs)
    np.testing.assert_allclose(np.load(out), acf, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(np.load(tmp_path / "r.confint.npy").reshape(-1, 2), confint, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(np.load(tmp_path / "r.qstat.npy"), qstat, rtol=1e-9)
    np.testing.assert_allclose(np.load(tmp_path / "r.pvalues.npy"), pvalues, rtol=1e-7, atol=1e-300)


def test_acf_large_nlags_streams_pieces(cli_path, daemon, tmp_path, rng):
    # 200001 lags with intervals: ~4.8 MB of results, more than one reply message
    x = rng.standard_normal(600_000)
    np.save(tmp_path / "x.npy", x)
    p = ok(run(cli_path, daemon, "acf", tmp_path / "x.npy", "--nlags", "200000", "--alpha", "0.05",
               "--out", tmp_path / "r.npy", "--summary"))
    assert "nlags 200000, method fft" in p.stderr.decode()
    acf = np.load(tmp_path / "r.npy")
    assert acf.shape == (200001,) and acf[0] == 1.0
    want = np.array([np.dot(x[: x.size - k] - x.mean(), x[k:] - x.mean()) for k in (1, 7, 199_999)])
    want /= np.dot(x - x.mean(), x - x.mean())
    np.testing.assert_allclose(acf[[1, 7, 199_999]], want, rtol=1e-9, atol=1e-12)
    assert np.load(tmp_path / "r.confint.npy").shape == (400002,)


def test_acf_text_input_and_stdin(cli_path, daemon):
    p = ok(run(cli_path, daemon, "acf", "-", "--nlags", "2", stdin=b"1 2 3 4 5\n"))
    got = np.loadtxt(p.stdout.decode().splitlines())
    np.testing.assert_allclose(got[:, 1], [1.0, 0.4, -0.1], rtol=1e-15)


@pytest.mark.parametrize("args, code, needle", [
    (["wordcount", "MISSING"], 2, "MISSING"),
    (["wordacf", "MISSING"], 2, "MISSING"),
    (["wordacf", "BOOK", "--mode", "fancy"], 2, "--mode"),
    (["corpus", "BOOK", "--out", "OUT", "--mode", "fancy"], 2, "--mode"),
    (["wordcount"], 2, "BOOK"),
    (["wordacf", "BOOK", "--nwords", "0"], 2, "--nwords"),
    (["acf", "X", "--method", "slow"], 2, "--method"),
    (["acf", "X", "--alpha", "1.5"], 2, "--alpha"),
    (["acf", "X", "--nlags", "-3"], 2, "--nlags"),
    (["acf", "X", "--qstat", "--format", "npy"], 2, "--out FILE"),
    (["acf", "MISSING"], 2, "MISSING"),
    (["corpus", "BOOK"], 2, "--out"),
    (["corpus", "MISSING", "--out", "OUT"], 2, "MISSING"),
    (["corpus", "BOOK", "BOOK", "--out", "OUT"], 2, "two books"),
])
def test_text_and_acf_usage_errors(cli_path, daemon, tmp_path, args, code, needle):
    (tmp_path / "book.txt").write_text("a b c\n")
    np.save(tmp_path / "x.npy", np.arange(10.0))
    subst = {"MISSING": tmp_path / "MISSING.txt", "BOOK": tmp_path / "book.txt", "X": tmp_path / "x.npy",
             "OUT": tmp_path / "out"}
    p = run(cli_path, daemon, *[subst.get(a, a) for a in args])
    assert p.returncode == code, p.stderr
    assert needle in p.stderr.decode()


def test_invalid_utf8_is_a_server_error(cli_path, daemon, tmp_path):
    good = "caf\u00e9 ok ".encode()
    (tmp_path / "bad.txt").write_bytes(good + b"\xff\xfe then")
    for cmd in ("wordcount", "wordacf"):
        p = run(cli_path, daemon, cmd, tmp_path / "bad.txt")
        assert p.returncode == 1, p.stderr
        err = p.stderr.decode()
        assert err.startswith("lanes: INVALID_ARGUMENT: ") and f"invalid UTF-8 at byte {len(good)}" in err, err


def test_text_help(cli_path, daemon):
    for cmd in ("acf", "wordcount", "wordacf", "corpus"):
        p = ok(run(cli_path, daemon, cmd, "--help", server=False))
        assert f"Usage: lanes {cmd}" in p.stdout.decode()
    assert "wordacf" in ok(run(cli_path, daemon, "--help", server=False)).stdout.decode()


# ---- corpus ----

def corpus_books(tmp_path, names=("pg99.txt", "pg58.txt", "pg105.txt")):
    d = tmp_path / "books"
    d.mkdir()
    for n in names:
        (d / n).write_bytes(book(n).read_bytes())
    return d


def check_corpus_outputs(cli_path, daemon, books, names, out, zipf_words=10):
    """Each book's .dat and .csv equal the single-document commands' outputs; results.csv the Zipf table."""
    rows = [f"Book,{','.join(f'word{i}' for i in range(1, zipf_words + 1))}"]
    for n in names:
        stem = n.rsplit(".", 1)[0]
        dat = ok(run(cli_path, daemon, "wordcount", books / n)).stdout
        csv = ok(run(cli_path, daemon, "wordacf", books / n, "--mode", "course")).stdout
        assert (out / f"{stem}.dat").read_bytes() == dat, stem
        assert (out / f"{stem}.csv").read_bytes() == csv, stem
        counts = [line.split(b" ")[1].decode() for line in dat.splitlines()[:zipf_words]]
        rows.append(",".join([stem, *counts]))
    assert (out / "results.csv").read_text() == "\n".join(rows) + "\n"


def test_corpus_of_three_books(cli_path, daemon, tmp_path):
    books = corpus_books(tmp_path)
    out = tmp_path / "out"
    p = run(cli_path, daemon, "corpus", books / "pg99.txt", books / "pg58.txt", books / "pg105.txt",
            "--out", out, "--mode", "course", timeout=300)
    ok(p)
    assert len(p.stderr.decode().splitlines()) == 3  # one progress line per book
    check_corpus_outputs(cli_path, daemon, books, ["pg99.txt", "pg58.txt", "pg105.txt"], out)


def test_corpus_directory_with_a_broken_document(cli_path, daemon, tmp_path):
    books = corpus_books(tmp_path, ("pg99.txt", "pg58.txt", "pg105.txt", "pg42.txt"))
    (books / "broken.txt").write_bytes(b"fine words \xc3\x28 then")
    out = tmp_path / "out"
    # a directory stands for its .txt files in name order; documents go out in 50000-byte pieces
    p = run(cli_path, daemon, "corpus", books, "--out", out, "--mode", "course",
            "--chunk-bytes", "50000", "--summary", timeout=300)
    assert p.returncode == 1, p.stderr
    err = p.stderr.decode()
    progress = [line for line in err.splitlines() if line.startswith("lanes corpus: [")]
    assert len(progress) == 5, err
    assert "broken.txt: FAILED: INVALID_ARGUMENT: document 'broken.txt': invalid UTF-8 at byte 11" in err
    assert err.rstrip().endswith(f"1 of 5 documents failed: {books / 'broken.txt'}"), err
    assert not (out / "broken.dat").exists()
    names = ["pg105.txt", "pg42.txt", "pg58.txt", "pg99.txt"]
    check_corpus_outputs(cli_path, daemon, books, names, out)
    assert "process-pool" in err, err  # the summary


def test_corpus_without_acf(cli_path, daemon, tmp_path):
    books = corpus_books(tmp_path, ("pg58.txt",))
    out = tmp_path / "out"
    ok(run(cli_path, daemon, "corpus", books / "pg58.txt", "--out", out, "--no-acf", "--zipf-words", "3"))
    assert sorted(f.name for f in out.iterdir()) == ["pg58.dat", "results.csv"]
    dat = ok(run(cli_path, daemon, "wordcount", books / "pg58.txt")).stdout
    assert (out / "pg58.dat").read_bytes() == dat
    counts = [line.split(b" ")[1].decode() for line in dat.splitlines()[:3]]
    assert (out / "results.csv").read_text() == f"Book,word1,word2,word3\npg58,{','.join(counts)}\n"


# ---- the install target ----

def test_install_puts_a_working_lanes_and_lanesd_on_the_path(tmp_path, start_daemon):
    """`cmake --install BUILD --prefix P` installs lanes and lanesd (not lanesd-test) into P/bin, and the
    installed pair works end to end from the PATH alone, a corpus job included (the daemon's worker
    processes are the installed lanesd re-executed)."""
    import shutil
    from conftest import BUILD
    cmake = shutil.which("cmake")
    assert cmake, "cmake is needed to build lanes, so it is on the PATH"
    prefix = tmp_path / "prefix"
    p = subprocess.run([cmake, "--install", str(BUILD), "--prefix", str(prefix)], capture_output=True, timeout=300)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    installed = sorted(f.name for f in (prefix / "bin").iterdir())
    assert installed == ["lanes", "lanesd"], installed
    assert [f.name for f in prefix.iterdir()] == ["bin"]
    env = {"PATH": f"{prefix / 'bin'}:/usr/bin:/bin"}
    assert subprocess.run(["sh", "-c", "command -v lanes; command -v lanesd"], env=env, capture_output=True).stdout.decode() \
        == f"{prefix / 'bin' / 'lanes'}\n{prefix / 'bin' / 'lanesd'}\n"

    d = start_daemon(binary=prefix / "bin" / "lanesd", env={"PATH": env["PATH"]})

    def lanes_(*args, timeout=300):
        full = dict(os.environ, **env)
        return subprocess.run(["lanes", "--server", d.address, *map(str, args)], capture_output=True,
                              timeout=timeout, env=full)

    assert ok(lanes_("health")).stdout == b"SERVING\n"
    x = np.arange(12.0).reshape(3, 4)
    np.save(tmp_path / "x.npy", x)
    ok(lanes_("map", "square", "--in", tmp_path / "x.npy", "--out", tmp_path / "y.npy"))
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), x * x)
    books = tmp_path / "books"
    books.mkdir()
    for n in ("pg99.txt", "pg58.txt"):
        (books / n).write_bytes(book(n).read_bytes())
    out = tmp_path / "out"
    p = ok(lanes_("corpus", books, "--out", out, "--summary"))
    err = p.stderr.decode()
    assert "backend: process-pool" in err, err
    assert sorted(f.name for f in out.iterdir()) == ["pg58.csv", "pg58.dat", "pg99.csv", "pg99.dat", "results.csv"]
    # the pool's answer equals a single document's, computed in the daemon itself
    assert (out / "pg99.dat").read_bytes() == ok(lanes_("wordcount", books / "pg99.txt")).stdout
    assert (out / "pg99.dat").read_text().splitlines()[0] == "the 712 6.233038606320581"
    assert d.stop() == 0, d.log()
