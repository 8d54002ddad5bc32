"""The Python client against a real lanesd, with numpy as the reference.

Map results must equal numpy's elementwise results (exactly for arithmetic in float64; within a few
ulps for libm functions, whose implementations differ between numpy's SIMD loops and glibc). Reduce
results: integer results exactly, sums within a tight relative bound of an exact (math.fsum)
reference, and the same bits whatever the chunking or backend.
"""
import math

import numpy as np
import pytest

import lanes

RNG = np.random.default_rng(20261121)


@pytest.fixture(scope="module")
def client(daemon):
    with lanes.Client(daemon.address, timeout=120) as c:
        yield c


def ulp_diff(a, b):
    """Distance in units in the last place between float arrays (NaNs equal when both NaN)."""
    a = np.asarray(a)
    b = np.asarray(b)
    both_nan = np.isnan(a) & np.isnan(b)
    same = (a == b) | both_nan
    spacing = np.spacing(np.maximum(np.abs(a), np.abs(b)).astype(a.dtype))
    d = np.where(same, 0, np.abs(a.astype(np.float64) - b.astype(np.float64)) / spacing.astype(np.float64))
    return np.nan_to_num(d, nan=np.inf)


def special_values(dtype):
    if np.dtype(dtype).kind == "f":
        return np.array([0.0, -0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 1e-300, 0.5, 2.0], dtype=dtype)
    info = np.iinfo(dtype)
    return np.array([0, 1, -1, info.max, info.min, 7, -7], dtype=dtype)


def sample(dtype, n):
    if np.dtype(dtype).kind == "f":
        x = RNG.normal(scale=3.0, size=n).astype(dtype)
    else:
        x = RNG.integers(-1000, 1000, size=n).astype(dtype)
    return np.concatenate([special_values(dtype), x])


NUMPY_FUNCS = {
    "square": lambda x: x * x,
    "cube": lambda x: x * x * x,
    "sqrt": np.sqrt,
    "exp": np.exp,
    "log": np.log,
    "abs": np.abs,
    "sin": np.sin,
    "cos": np.cos,
}
EXACT = {"square", "cube", "sqrt", "abs"}  # correctly rounded in both: exact equality


@pytest.mark.parametrize("fn", sorted(NUMPY_FUNCS))
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int32"])
@pytest.mark.parametrize("n", [0, 1, 1001, 300_007])
def test_map_functions_match_numpy(client, fn, dtype, n):
    x = sample(dtype, n) if n else np.array([], dtype=dtype)
    ref = NUMPY_FUNCS[fn](x.astype(np.float64))
    with np.errstate(all="ignore"):
        got = client.map(fn, x)
    assert got.dtype == np.float64 and got.shape == x.shape
    if fn in EXACT:
        np.testing.assert_array_equal(got, ref)
    else:
        assert ulp_diff(got, ref).max(initial=0) <= 2


@pytest.mark.parametrize("fn", ["square", "sqrt", "sin", "exp"])
def test_map_float32_output_is_rounded_float64(client, fn):
    x = sample("float64", 50_000)
    with np.errstate(all="ignore"):
        ref = NUMPY_FUNCS[fn](x).astype(np.float32)
    got = client.map(fn, x, out_dtype="float32")
    assert got.dtype == np.float32
    assert ulp_diff(got, ref).max() <= (0 if fn in EXACT else 1)


def test_map_affine_and_power_params(client):
    x = sample("float64", 200_001)
    np.testing.assert_array_equal(client.map("affine", x, a=2, b=-1), 2 * x - 1)
    # A scalar exponent takes numpy's x**n fast paths: exactly numpy's answer.
    with np.errstate(all="ignore"):
        for n in (2, 0.5, 1, -1, 0):
            np.testing.assert_array_equal(client.map("power", x, n=n), x ** n, err_msg=f"n={n}")
    pos = np.abs(x)
    with np.errstate(all="ignore"):
        assert ulp_diff(client.map("power", pos, n=3), pos ** 3.0).max() <= 1
        assert ulp_diff(client.map("power", pos, n=0.5), np.power(pos, 0.5)).max() <= 1


def test_map_power_with_exponent_array_is_starmap(client):
    # The course's starmap(power_n, zip(x, n)).
    x = RNG.uniform(0, 10, 100_000)
    n = RNG.integers(0, 6, 100_000).astype(np.int64)
    got = client.map("power", x, n)
    ref = np.array([xi ** float(ni) for xi, ni in zip(x[:1000], n[:1000])])
    assert ulp_diff(got[:1000], ref).max() <= 1
    assert ulp_diff(got, np.power(x, n.astype(np.float64))).max() <= 1


def test_map_keeps_shape_and_broadcasts(client):
    x = RNG.normal(size=(30, 40))
    np.testing.assert_array_equal(client.map("square", x), x * x)
    # An exponent array means np.power(x, y) elementwise: libm pow, within an ulp of numpy's.
    assert ulp_diff(client.map("power", x, 2.0), np.power(x, np.full_like(x, 2.0))).max() <= 1


def test_map_large_stream_in_order(client):
    x = np.arange(3_000_000, dtype=np.float64)  # 24 MB: many chunks, pooled compute
    got = client.map("affine", x, a=2, b=-1)
    np.testing.assert_array_equal(got, 2 * x - 1)
    s = client.last_summary
    assert s["elements"] == x.size and s["chunks"] >= 20
    assert s["backend"] == "cpu" and "inline_threshold" in s["reason"]


def test_map_forced_backends_agree(client):
    x = sample("float64", 500_000)
    a = client.map("sin", x, backend="inline")
    assert client.last_summary["backend"] == "inline" and "forced" in client.last_summary["reason"]
    b = client.map("sin", x, backend="cpu")
    assert client.last_summary["backend"] == "cpu"
    np.testing.assert_array_equal(a, b)


def test_map_small_job_runs_inline(client):
    client.map("square", np.arange(10.0))
    s = client.last_summary
    assert s["backend"] == "inline" and s["elements"] == 10


def test_map_iter_streams_chunks(client):
    chunks = [RNG.normal(size=k) for k in (0, 1, 70_000, 200_000, 3)]
    got = np.concatenate(list(client.map_iter("cube", iter(chunks))))
    x = np.concatenate(chunks)
    np.testing.assert_array_equal(got, x * x * x)


def test_map_iter_two_inputs(client):
    xs = [RNG.uniform(0, 3, 50_000) for _ in range(4)]
    ns = [RNG.uniform(0, 3, 50_000) for _ in range(4)]
    got = np.concatenate(list(client.map_iter("power", zip(xs, ns))))
    ref = np.power(np.concatenate(xs), np.concatenate(ns))
    assert ulp_diff(got, ref).max() <= 1


# ---- reduce ----

def exact_sum(x):
    return math.fsum(x.astype(np.float64).tolist())


@pytest.mark.parametrize("n", [0, 1, 4095, 4097, 1_000_003])
def test_reduce_sum_mean_var_std(client, n):
    x = RNG.normal(loc=5.0, size=n)
    s = client.reduce("sum", x)
    assert isinstance(s, np.float64)
    assert abs(s - exact_sum(x)) <= 1e-13 * max(1.0, float(np.abs(x).sum()))
    if n == 0:
        assert s == 0.0
        with np.errstate(all="ignore"):
            assert np.isnan(client.reduce("mean", x))
        return
    assert client.reduce("mean", x) == pytest.approx(exact_sum(x) / n, rel=1e-13)
    for ddof in (0, 1):
        if n - ddof <= 0:
            continue
        ref = np.var(x.astype(np.longdouble), ddof=ddof)
        assert client.reduce("var", x, ddof=ddof) == pytest.approx(float(ref), rel=1e-12)
        assert client.reduce("std", x, ddof=ddof) == pytest.approx(float(np.sqrt(ref)), rel=1e-12)


def test_reduce_is_bit_identical_for_any_chunking_and_backend(daemon):
    x = RNG.normal(size=2_000_003) * 1e3
    results = set()
    for chunk_bytes in (4096, 8 * 4097, 1 << 20, (4 << 20) - 2048):
        with lanes.Client(daemon.address, chunk_bytes=chunk_bytes) as c:
            for backend in (None, "inline", "cpu"):
                results.add(tuple(float(c.reduce(op, x, backend=backend)).hex()
                                  for op in ("sum", "mean", "var", "std")))
    assert len(results) == 1, results


@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_reduce_integers_exact(client, dtype):
    x = RNG.integers(-10**6, 10**6, size=300_001).astype(dtype)
    s = client.reduce("sum", x)
    assert isinstance(s, np.int64) and int(s) == int(x.astype(object).sum())
    mn, mx = client.reduce("min", x), client.reduce("max", x)
    assert mn.dtype == np.dtype(dtype) and mn == x.min() and mx == x.max()
    assert client.reduce("argmin", x) == np.argmin(x) and client.reduce("argmax", x) == np.argmax(x)
    assert client.reduce("count", x) == x.size
    assert client.reduce("mean", x) == pytest.approx(float(x.astype(object).sum()) / x.size, rel=1e-14)


def test_reduce_int64_sum_wraps_like_numpy(client):
    x = np.array([2**62, 2**62, 2**62, 5], dtype=np.int64)
    assert client.reduce("sum", x) == x.sum()  # numpy wraps modulo 2**64


def test_reduce_min_max_keep_float32(client):
    x = RNG.normal(size=10_000).astype(np.float32)
    mn = client.reduce("min", x)
    assert mn.dtype == np.float32 and mn == x.min()
    assert client.reduce("max", x) == x.max()


def test_reduce_nan_and_inf_follow_numpy(client):
    x = RNG.normal(size=100_000)
    x[77_777] = np.nan
    x[88_888] = np.nan
    for op in ("sum", "mean", "var", "std", "min", "max"):
        assert np.isnan(client.reduce(op, x)), op
    assert client.reduce("argmin", x) == np.argmin(x) == 77_777
    assert client.reduce("argmax", x) == np.argmax(x) == 77_777
    y = np.array([1.0, np.inf, 3.0])
    assert client.reduce("sum", y) == np.inf and client.reduce("max", y) == np.inf
    with np.errstate(all="ignore"):
        assert np.isnan(client.reduce("var", y)) and np.isnan(np.var(y))
    z = np.array([np.inf, -np.inf])
    assert np.isnan(client.reduce("sum", z))


def test_reduce_ties_take_first_index(client):
    x = np.array([3.0, 1.0, 1.0, 5.0, 5.0])
    assert client.reduce("argmin", x) == 1 and client.reduce("argmax", x) == 3


def test_reduce_var_ddof_at_n(client):
    with np.errstate(all="ignore"):
        assert client.reduce("var", np.array([2.0, 4.0]), ddof=2) == np.var([2.0, 4.0], ddof=2) == np.inf
        assert np.isnan(client.reduce("var", np.array([3.0]), ddof=1))


def test_reduce_empty_errors_like_numpy(client):
    empty = np.array([], dtype=np.float64)
    with pytest.raises(lanes.InvalidArgument, match="zero-size array to reduction operation minimum"):
        client.reduce("min", empty)
    with pytest.raises(lanes.InvalidArgument, match="zero-size array to reduction operation maximum"):
        client.reduce("max", empty)
    with pytest.raises(lanes.InvalidArgument, match="attempt to get argmin of an empty sequence"):
        client.reduce("argmin", empty)
    assert client.reduce("count", empty) == 0


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
@pytest.mark.parametrize("bins,rng", [(10, None), (7, (-2.0, 3.0)), (1, (0.0, 0.0)), (64, (-1.0, 1.0))])
def test_reduce_histogram_matches_numpy(client, dtype, bins, rng):
    x = RNG.normal(size=200_001)
    if dtype == "int64":
        x = x * 3
    x = x.astype(dtype)
    x[:5] = x.dtype.type(0)  # values exactly on edges
    counts, edges = client.reduce("histogram", x, bins=bins, range=rng)
    ref_counts, ref_edges = np.histogram(x, bins=bins, range=rng)
    np.testing.assert_array_equal(counts, ref_counts)
    assert edges.dtype == ref_edges.dtype
    np.testing.assert_array_equal(edges, ref_edges)


def test_reduce_histogram_ignores_nan_with_range(client):
    x = np.array([np.nan, 0.5, 1.0, np.inf, -3.0, 0.0])
    counts, _ = client.reduce("histogram", x, bins=2, range=(0, 1))
    np.testing.assert_array_equal(counts, np.histogram(x, bins=2, range=(0, 1))[0])


def test_reduce_iter(client):
    chunks = [RNG.normal(size=k) for k in (5, 100_000, 0, 333_333)]
    x = np.concatenate(chunks)
    assert client.reduce_iter("sum", iter(chunks)) == client.reduce("sum", x)
    assert client.reduce_iter("argmax", iter(chunks)) == np.argmax(x)


def test_info_and_health(client):
    info = client.info()
    names = {b["name"]: b for b in info["backends"]}
    assert names["inline"]["available"] and names["cpu"]["available"]
    assert "cuda" in names
    assert "square" in info["map_functions"] and "histogram" in info["reduce_ops"]
    assert info["chunk_bytes"] == 1 << 20 and info["max_message_bytes"] >= 4 << 20
    assert client.health() == "SERVING"
    assert client.health("lanes.v1.Lanes") == "SERVING"
    with pytest.raises(lanes.NotFound, match="unknown service 'nope'"):
        client.health("nope")


def test_example_lab_script_runs(daemon):
    import subprocess
    import sys
    from conftest import ROOT
    r = subprocess.run([sys.executable, str(ROOT / "clients/python/examples/lab_script.py"), "--server",
                        daemon.address, "-n", "300000"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "all results match numpy" in r.stdout and "unknown function 'sine'" in r.stdout
    assert "arrays that do not broadcast: the inputs' shapes do not broadcast together: x (10,), y (11,)" in r.stdout
    assert "the summary's counts are ints: 300000 elements, 2400000 bytes in" in r.stdout


# ---- every error a call raises is a lanes.Error naming the argument ----

def test_client_side_checks_raise_lanes_errors_naming_the_argument(daemon, client):
    x3, x4 = np.arange(3.0), np.arange(4.0)
    cases = [
        (lambda: client.map("square", x3.astype(np.complex128)), "input x: .*dtype complex128"),
        (lambda: client.map("x + y", x3, x4), r"do not broadcast together: x \(3,\), y \(4,\)"),
        (lambda: client.map("x + q", x3, q=x4), r"x \(3,\), q \(4,\)"),
        (lambda: client.reduce("max", expr="x - y", x=x3, y=x4), r"x \(3,\), y \(4,\)"),
        (lambda: client.reduce("sum", x3.astype(np.complex64)), "x: .*dtype complex64"),
        (lambda: client.acf(x3.astype(np.complex128)), "x: .*complex128"),
        (lambda: client.map("square", [[1.0, 2.0], [3.0]]), "input x is not an array of numbers"),
        (lambda: client.map("x * a", x3, a=np.complex128(2 + 1j)), "parameter a must be a real number"),
        (lambda: client.map("x * a", x3, a="two"), "parameter a must be a real number"),
        (lambda: client.map(7, x3), "fn must be a str"),
        (lambda: client.map("square", x3, out_dtype="int8"), "out_dtype must be float64 or float32"),
        (lambda: client.map("square", x3, backend="gpu"), "unknown backend 'gpu'"),
        (lambda: client.map("square", x3, timeout="soon"), "timeout must be a real number"),
        (lambda: client.reduce("histogram", x3, range=(1.0,)), r"range must be a pair \(lo, hi\)"),
        (lambda: client.reduce("histogram", x3, bins=-1), "bins must be between 0 and"),
        (lambda: client.reduce("sum", x3, ddof="one"), "ddof must be a real number"),
        (lambda: client.reduce(None, x3), "op must be a str"),
        (lambda: client.acf(x3, nlags=1.5), "nlags must be an integer"),
        (lambda: client.acf(x3, method="slow"), "unknown ACF method 'slow'"),
        (lambda: client.acf(x3, n=4), "n=4 but the series x has 3 values"),
        (lambda: client.acf(np.ones((2, 3))), r"x of shape \(2, 3\)"),
        (lambda: client.acf(x3, alpha="0.05"), "alpha must be a real number"),
        (lambda: client.word_acf(text="a b", nwords=2**40), "nwords must be between 0 and 4294967295"),
        (lambda: client.word_count(text="a b", top=-1), "top must be between 0 and"),
        (lambda: client.reduce("mean", expr="u", u=lanes.uniform(1), n=-5), "n must be between 0 and"),
        (lambda: lanes.uniform(-1), "seed must be between 0 and 18446744073709551615, got -1"),
        (lambda: lanes.normal(2**64), "seed must be between"),
        (lambda: lanes.range(start="a"), "start must be a real number"),
        (lambda: client.map("x", lanes.uniform(1)), "give a generated input a name"),
        (lambda: client.health(5), "service must be a str"),
        (lambda: lanes.Client(daemon.address, chunk_bytes=0), "chunk_bytes must be between 1 and"),
        (lambda: lanes.Client(5), "address must be a str"),
        (lambda: list(client.map_iter("square", 5)), "chunks must be iterable"),
        (lambda: list(client.map_iter("square", [], dtypes="complex64")), "dtypes.0.: .*complex64"),
    ]
    for call, match in cases:
        with pytest.raises(lanes.InvalidArgument, match=match) as e:
            call()
        assert e.value.code.name == "INVALID_ARGUMENT"
        assert isinstance(e.value, ValueError) and isinstance(e.value, TypeError)  # what old code caught
    closed = lanes.Client(daemon.address)
    closed.close()
    with pytest.raises(lanes.FailedPrecondition, match="closed"):
        closed.map("square", x3)
    np.testing.assert_array_equal(client.map("square", x3), x3 * x3)  # the daemon is unharmed


def test_bad_chunks_of_a_stream_are_lanes_errors_in_the_callers_thread(client):
    """Chunks are checked in gRPC's request thread; the error comes back to the caller as the
    InvalidArgument it is (it was a CANCELLED call, or a silent cast of floats into an int stream)."""
    ints = np.arange(5, dtype=np.int64)
    cases = [
        (lambda: list(client.map_iter("square", [ints, ints + 0.5])),
         "chunk 1 has dtype float64, which does not convert to the stream's int64"),
        (lambda: list(client.map_iter("square", [np.arange(3.0), np.arange(3, dtype=np.complex128)])),
         "chunk 1: .*complex128"),
        (lambda: list(client.map_iter("power", [(np.arange(3.0), np.arange(3.0)), (np.arange(3.0), np.arange(2.0))])),
         "the arrays of chunk 1 must have equal lengths, got 3, 2"),
        (lambda: list(client.map_iter("power", [(np.arange(3.0), np.arange(3.0)), np.arange(3.0)])),
         "chunk 1 has 1 arrays, the job has 2 inputs"),
        (lambda: client.reduce_iter("sum", [ints, ints * 1.5]), "chunk 1 has dtype float64"),
        (lambda: client.acf(iter([np.arange(4.0), np.array(["a"])]), nlags=1), "chunk 1: .*dtype <U1"),
    ]
    for call, match in cases:
        with pytest.raises(lanes.InvalidArgument, match=match):
            call()
    # within its kind a chunk is still converted: float32 chunks into a float64 stream, ints into floats
    got = client.reduce_iter("sum", [np.arange(3.0), np.arange(3, dtype=np.float32), np.arange(3, dtype=np.int16)])
    assert got == 9.0


# ---- input dtypes: exactly the documented set ----

ACCEPTED = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32",
            "float64", "longdouble", ">f8", ">i4", ">u2"]
REFUSED = ["complex64", "complex128", "object", "U3", "S3", "datetime64[s]", "timedelta64[s]", "i4,f8"]


@pytest.mark.parametrize("dtype", ACCEPTED)
def test_every_documented_dtype_is_accepted_with_its_values(client, dtype):
    dt = np.dtype(dtype)
    if dt.kind == "b":
        x = np.array([True, False, True, True])
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        x = np.array([info.min, 0, 1, info.max // 3, info.max], dtype=dt)
    else:
        x = np.array([-2.5, 0.0, 1.0, 3.25, 1e4], dtype=dt)
    ref = x.astype(np.float64)
    np.testing.assert_array_equal(client.map("x * 1", x), ref)  # one rounding of the exact value
    assert float(client.reduce("max", x)) == ref.max() and float(client.reduce("min", x)) == ref.min()
    assert np.dtype(lanes.wire_dtype(dt)).name in ("float64", "float32", "int64", "int32")


@pytest.mark.parametrize("dtype", REFUSED)
def test_other_dtypes_are_refused_naming_the_accepted_ones(client, dtype):
    x = np.zeros(3, dtype=dtype)
    for call in (lambda: client.map("square", x), lambda: client.reduce("sum", x), lambda: client.acf(x)):
        with pytest.raises(lanes.InvalidArgument) as e:
            call()
        assert str(x.dtype) in e.value.message and lanes.ACCEPTED_DTYPES in e.value.message


def test_readme_lists_exactly_the_accepted_dtypes():
    from conftest import ROOT
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "Any numeric input dtype" not in readme
    assert lanes.ACCEPTED_DTYPES in readme
    for doc in (lanes.wire_dtype.__doc__, lanes.Client.map.__doc__):
        assert "bool, int8 .. int64, uint8 .. uint64, float16 .. float64" in " ".join(doc.split())


# ---- summaries: counts are ints, times floats ----

SUMMARY_INTS = ("elements", "chunks", "bytes_in", "bytes_out", "threads")
SUMMARY_FLOATS = ("queued_seconds", "compute_seconds", "stream_seconds")


def check_summary(s):
    assert set(s) == {"backend", "reason", *SUMMARY_INTS, *SUMMARY_FLOATS}, s
    for k in SUMMARY_INTS:
        assert type(s[k]) is int, (k, s[k])
    for k in SUMMARY_FLOATS:
        assert type(s[k]) is float and s[k] >= 0, (k, s[k])
    assert type(s["backend"]) is str and type(s["reason"]) is str


def test_every_summary_gives_ints_and_floats(daemon, client):
    x = RNG.normal(size=300_000)
    client.map("square", x)
    s = client.last_summary
    check_summary(s)
    assert s["elements"] == x.size and s["bytes_in"] == x.nbytes and s["bytes_out"] == x.nbytes
    client.reduce("sum", x[:1000])
    check_summary(client.last_summary)
    assert client.last_summary["elements"] == 1000 and client.last_summary["chunks"] == 1
    client.acf(x[:5000], nlags=3)
    check_summary(client.last_summary)
    assert client.last_summary["elements"] == 5000
    r = client.word_count(b"a b a")
    check_summary(r.summary)
    assert r.summary == client.last_summary and r.summary["bytes_in"] == 5
    w = client.word_acf(b"a b a", nwords=1, timesteps=2)
    check_summary(w.summary)
    run = client.corpus([("a.txt", b"a b a"), ("b.txt", b"c")], word_acf=False)
    list(run)
    check_summary(run.summary)
    assert run.summary["backend"] == "process-pool" and run.summary["bytes_in"] == 6
    check_summary(client.last_summary)
    info = client.info()
    for k in ("cpu_threads", "cq_threads", "chunk_bytes", "max_message_bytes", "inline_threshold", "max_calls",
              "pid", "online_cpus"):
        assert type(info[k]) is int, (k, info[k])
    assert info["chunk_bytes"] == 1 << 20 and info["pid"] == daemon.proc.pid
    assert type(info["uptime_seconds"]) is float
    for b in info["backends"]:
        assert type(b["name"]) is str and type(b["available"]) is bool


# ---- backend names: the daemon's, process-pool ----

def test_backend_names_are_the_daemons_registry_names(client):
    x = np.arange(10.0)
    names = [b["name"] for b in client.info()["backends"]]
    assert "process-pool" in names
    for name in names:  # each spelling Info gives is one backend= takes
        try:
            np.testing.assert_array_equal(client.map("square", x, backend=name), x * x)
            assert client.last_summary["backend"] == name
        except lanes.FailedPrecondition as e:  # a backend this daemon cannot run map on
            assert name in ("process-pool", "cuda"), (name, e)
    for spelling in ("process-pool", "process_pool", "Process-Pool"):
        run = client.corpus([("a.txt", b"a b a")], word_acf=False, backend=spelling)
        (d,) = list(run)
        assert d.ok and d.backend.startswith("process-pool worker ") and run.summary["backend"] == "process-pool"
    with pytest.raises(lanes.InvalidArgument, match=r"\(auto, inline, cpu, process-pool, cuda\)"):
        client.map("square", x, backend="pool")
    with pytest.raises(lanes.FailedPrecondition, match="process-pool"):
        client.map("square", x, backend="process_pool")
    assert "process-pool" in lanes.Client.corpus.__doc__ and "process_pool" not in lanes.Client.corpus.__doc__
