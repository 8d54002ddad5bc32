"""Expressions, generated inputs and fused map-reduce through the real daemon, against numpy.

References are independent of lanes: a numpy-vectorised Philox4x32-10 written here from the published
algorithm (Salmon et al., SC 2011), and numpy evaluation of the same expression in which every
transcendental function is Python's math module (the same C libm lanes calls), so results must be
bit-identical, NaN for NaN.
"""
import math
import random

import numpy as np
import pytest

import lanes

MASK = np.uint64(0xFFFFFFFF)


def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Vectorised Philox4x32-10 on uint64 arrays holding 32-bit words."""
    c0, c1, c2, c3 = (np.asarray(a, dtype=np.uint64) for a in (c0, c1, c2, c3))
    k0, k1 = np.uint64(k0), np.uint64(k1)
    for _ in range(10):
        p0 = np.uint64(0xD2511F53) * c0
        p1 = np.uint64(0xCD9E8D57) * c2
        c0, c1, c2, c3 = ((p1 >> np.uint64(32)) ^ c1 ^ k0) & MASK, p1 & MASK, \
                         ((p0 >> np.uint64(32)) ^ c3 ^ k1) & MASK, p0 & MASK
        k0 = (k0 + np.uint64(0x9E3779B9)) & MASK
        k1 = (k1 + np.uint64(0xBB67AE85)) & MASK
    return c0, c1, c2, c3


def ref_stream(seed, start, n):
    k = np.arange(start, start + n, dtype=np.uint64)
    o = philox4x32_10(k & MASK, k >> np.uint64(32), 0, 0, seed & 0xFFFFFFFF, seed >> 32)
    x = (o[0] << np.uint64(32)) | o[1]
    y = (o[2] << np.uint64(32)) | o[3]
    uniform = (x >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    u1 = ((x >> np.uint64(11)) + np.uint64(1)).astype(np.float64) * 2.0 ** -53
    u2 = (y >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    log = np.frompyfunc(math.log, 1, 1)
    cos = np.frompyfunc(math.cos, 1, 1)
    normal = np.sqrt(-2.0 * log(u1).astype(np.float64)) * cos(2.0 * math.pi * u2).astype(np.float64)
    return uniform, normal


def test_philox_reference_matches_the_published_vector():
    # Random123 kat_vectors: philox4x32_10, counter and key all zero.
    assert [int(v) for v in philox4x32_10(0, 0, 0, 0, 0, 0)] == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C,
                                                                  0x9B00DBD8]


@pytest.fixture(scope="module")
def client(daemon):
    with lanes.Client(daemon.address, timeout=300) as c:
        yield c


@pytest.mark.parametrize("seed", [0, 1, 2**40 + 7])
def test_generated_uniform_and_normal_match_philox(client, seed):
    n = 300_000
    ref_u, ref_n = ref_stream(seed, 0, n)
    u = client.map("u", u=lanes.uniform(seed), n=n)
    np.testing.assert_array_equal(u, ref_u)
    z = client.map("z", z=lanes.normal(seed), n=n)
    np.testing.assert_array_equal(z, ref_n)
    assert int(client.last_summary["bytes_in"]) == 0


def test_generated_values_do_not_depend_on_chunking(daemon):
    n = 200_003
    results = []
    for chunk_bytes in (4096, 65536, 1 << 20):
        with lanes.Client(daemon.address, chunk_bytes=chunk_bytes) as c:
            results.append(c.map("u + 1000*z + i", u=lanes.uniform(3), z=lanes.normal(4), n=n))
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


def test_range_and_index(client):
    np.testing.assert_array_equal(client.map("t", t=lanes.range(5, 0.5), n=1000), 5 + 0.5 * np.arange(1000))
    x = np.random.default_rng(1).normal(size=250_000)
    np.testing.assert_array_equal(client.map("x + i", x), x + np.arange(x.size))


def test_named_arrays_and_parameters(client):
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=100_000), rng.normal(size=100_000)
    np.testing.assert_array_equal(client.map("p*q + c", p=a, q=b, c=2.5), a * b + 2.5)
    # A parameter exponent is libm's pow (numpy's own power differs from it by an ulp at times).
    got = client.map("x**n", a, n=3)
    np.testing.assert_array_equal(got, np.frompyfunc(math.pow, 2, 1)(a, 3.0).astype(np.float64))
    np.testing.assert_allclose(got, a ** 3.0, rtol=3e-16, atol=0)
    np.testing.assert_array_equal(client.map("x**2 + y**2", a, b), a ** 2 + b ** 2)


def test_issue_examples(client):
    x = np.random.default_rng(3).normal(size=500_000)
    with np.errstate(all="ignore"):
        ref = np.where(x > 0, np.frompyfunc(math.log, 1, 1)(np.abs(x)).astype(float), 0)
    np.testing.assert_array_equal(client.map("where(x > 0, log(x), 0)", x), np.where(x > 0, ref, 0))
    np.testing.assert_array_equal(client.map("2*x - 1", x), 2 * x - 1)


def test_aliases(client):
    x = np.random.default_rng(4).uniform(0.5, 2, 10_000)
    np.testing.assert_array_equal(client.map("square(x) + cube(x)", x), x ** 2 + x * x * x)
    np.testing.assert_array_equal(client.map("affine(x, 2, -1)", x), 2 * x - 1)


# ---- random expressions against numpy ----

FUNCS1 = {"abs": np.abs, "sqrt": np.sqrt, "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc, "round": np.round,
          "sin": math.sin, "cos": math.cos, "tan": math.tan, "exp": math.exp, "tanh": math.tanh,
          "atan": math.atan, "cbrt": math.cbrt, "expm1": math.expm1, "sinh": math.sinh}
# np.hypot is C's hypot (Python's math.hypot is an algorithm of its own).
FUNCS2 = {"min": np.minimum, "max": np.maximum, "hypot": np.hypot, "atan2": math.atan2}


def libm(f, nin):
    """A math-module function applied elementwise. math raises where C returns NaN or inf; give C's."""
    def safe(*a):
        try:
            return f(*a)
        except ValueError:
            return math.nan
        except OverflowError:
            if f is math.sinh:
                return math.copysign(math.inf, a[0])
            if f is math.pow and float(a[1]).is_integer() and int(a[1]) % 2:
                return math.copysign(math.inf, a[0])  # an odd power keeps the sign
            return math.inf
    g = np.frompyfunc(safe, nin, 1)
    return lambda *a: g(*a).astype(np.float64)


def gen(rng, depth):
    """A random expression: (lanes text, numpy function of (x, y))."""
    if depth == 0 or rng.random() < 0.25:
        r = rng.random()
        if r < 0.4:
            return "x", lambda x, y: x
        if r < 0.7:
            return "y", lambda x, y: y
        c = rng.choice([0.5, 2.0, 3.0, 1.5, 10.0, 0.25, 7.0])
        return repr(c), lambda x, y, c=c: np.full_like(x, c)
    kind = rng.random()
    if kind < 0.35:
        op = rng.choice(["+", "-", "*", "/"])
        (ta, fa), (tb, fb) = gen(rng, depth - 1), gen(rng, depth - 1)
        npop = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}[op]
        return f"({ta} {op} {tb})", lambda x, y: npop(fa(x, y), fb(x, y))
    if kind < 0.55:
        name = rng.choice(sorted(FUNCS1))
        t, f = gen(rng, depth - 1)
        fn = FUNCS1[name]
        g = fn if isinstance(fn, np.ufunc) else libm(fn, 1)
        return f"{name}({t})", lambda x, y: g(f(x, y))
    if kind < 0.65:
        name = rng.choice(sorted(FUNCS2))
        (ta, fa), (tb, fb) = gen(rng, depth - 1), gen(rng, depth - 1)
        fn = FUNCS2[name]
        g = fn if isinstance(fn, np.ufunc) else libm(fn, 2)
        return f"{name}({ta}, {tb})", lambda x, y: g(fa(x, y), fb(x, y))
    if kind < 0.75:
        (tc, fc), (ta, fa), (tb, fb) = gen(rng, depth - 1), gen(rng, depth - 1), gen(rng, depth - 1)
        cmp = rng.choice(["<", ">", "<=", ">=", "==", "!="])
        npcmp = {"<": np.less, ">": np.greater, "<=": np.less_equal, ">=": np.greater_equal, "==": np.equal,
                 "!=": np.not_equal}[cmp]
        return (f"where({tc} {cmp} {ta}, {ta}, {tb})",
                lambda x, y: np.where(npcmp(fc(x, y), fa(x, y)), fa(x, y), fb(x, y)))
    if kind < 0.82:
        t, f = gen(rng, depth - 1)
        e = rng.choice([2, 3, 0.5, -1, 1.5])
        if e in (2, 0.5, -1):  # numpy's fast paths, which lanes takes too
            return f"({t})**{e}", lambda x, y: f(x, y) ** float(e)
        pow_ = libm(math.pow, 2)  # otherwise C's pow (numpy's own power differs by an ulp at times)
        return f"({t})**{e}", lambda x, y: pow_(f(x, y), np.full_like(x, float(e)))
    if kind < 0.88:
        t, f = gen(rng, depth - 1)
        return f"-({t})", lambda x, y: -f(x, y)
    if kind < 0.94:
        (ta, fa), (tb, fb) = gen(rng, depth - 1), gen(rng, depth - 1)
        op = rng.choice(["and", "or"])
        npop = np.logical_and if op == "and" else np.logical_or
        return (f"(({ta}) {op} ({tb}))",
                lambda x, y: npop(fa(x, y) != 0, fb(x, y) != 0).astype(np.float64))
    (ta, fa), (tb, fb) = gen(rng, depth - 1), gen(rng, depth - 1)
    return f"({ta} % {tb})", lambda x, y: np.remainder(fa(x, y), fb(x, y))


def test_thousands_of_random_expressions_match_numpy(client):
    rng = random.Random(20261121)
    data = np.random.default_rng(5)
    x = np.concatenate([data.normal(scale=3, size=40), [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5]])
    y = np.concatenate([data.uniform(-5, 5, size=40), [2.0, -3.0, 0.0, np.nan, np.inf, -0.5, 4.0, -0.0]])
    failures = []
    n_checked = 0
    for _ in range(2000):
        text, f = gen(rng, rng.randint(1, 5))
        with np.errstate(all="ignore"):
            ref = np.asarray(f(x, y), dtype=np.float64)
        got = client.map(text, x, y)
        n_checked += 1
        same = (got == ref) | (np.isnan(got) & np.isnan(ref))
        if not same.all():
            k = int(np.argmin(same))
            failures.append(f"{text}: element {k} x={x[k]!r} y={y[k]!r}: lanes {got[k]!r}, numpy {ref[k]!r}")
    assert n_checked == 2000
    assert not failures, f"{len(failures)} of {n_checked} differ:\n" + "\n".join(failures[:10])


# ---- errors ----

@pytest.mark.parametrize("text,pieces", [
    ("sine(x)", ["unknown function 'sine'", "column 1"]),
    ("x + q", ["unknown name 'q'", "column 5"]),
    ("x +", ["expected a value at end of expression"]),
    ("(x + 1", ["expected ')'"]),
    ("atan2(x)", ["'atan2' takes 2 arguments"]),
    ("1 < x < 2", ["chained"]),
    ("x" + " + x" * 3000, ["too long"]),
    ("(" * 200 + "x" + ")" * 200, ["too deep"]),
])
def test_expression_errors_name_the_problem_and_column(client, text, pieces):
    with pytest.raises(lanes.InvalidArgument) as e:
        client.map(text, np.arange(4.0))
    for p in pieces:
        assert p in e.value.message, e.value.message
    with lanes.Client(client.address) as c2:  # the daemon is unharmed
        assert c2.reduce("sum", np.arange(4.0)) == 6.0


def test_caret_line_points_at_the_column(client):
    with pytest.raises(lanes.InvalidArgument) as e:
        client.map("x + sine(x)", np.arange(3.0))
    lines = e.value.message.splitlines()
    src = next(l for l in lines if "sine(x)" in l and "unknown" not in l)
    caret = lines[lines.index(src) + 1]
    assert caret.index("^") == src.index("sine")


# ---- fused map-reduce ----

def test_fused_reduce_equals_reduce_of_the_mapped_array(client):
    x = np.random.default_rng(6).normal(size=1_500_001)
    for op in ("sum", "mean", "var", "std", "min", "max", "argmax"):
        fused = client.reduce(op, x, expr="x*x")
        plain = client.reduce(op, x * x)
        assert fused == plain, op
    counts, edges = client.reduce("histogram", x, expr="x*x", bins=8, range=(0, 4))
    ref = np.histogram(x * x, bins=8, range=(0, 4))
    np.testing.assert_array_equal(counts, ref[0])
    np.testing.assert_array_equal(edges, ref[1])


def test_fused_reduce_two_arrays(client):
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=800_000), rng.normal(size=800_000)
    assert client.reduce("max", expr="abs(x - y)", x=a, y=b) == np.max(np.abs(a - b))
    assert client.reduce("argmin", expr="x*y", x=a, y=b) == np.argmin(a * b)


def test_monte_carlo_pi_sends_no_input(client):
    n = 2_000_000
    pi = client.reduce("mean", expr="4*(u*u + v*v < 1)", u=lanes.uniform(seed=1), v=lanes.uniform(seed=2), n=n)
    u, _ = ref_stream(1, 0, n)
    v, _ = ref_stream(2, 0, n)
    assert pi == np.mean(4.0 * (u * u + v * v < 1))  # sums of 4s and 0s are exact
    assert abs(pi - math.pi) < 5 * math.sqrt(math.pi * (4 - math.pi) / n)
    s = client.last_summary
    assert int(s["bytes_in"]) == 0 and int(s["elements"]) == n


def test_generated_job_of_zero_elements(client):
    assert client.map("u", u=lanes.uniform(1), n=0).size == 0
    assert client.reduce("sum", expr="u", u=lanes.uniform(1), n=0) == 0.0


def test_bad_generated_and_mixed_specs(client):
    with pytest.raises(TypeError, match="needs its length"):
        client.map("u", u=lanes.uniform(1))
    with pytest.raises(lanes.InvalidArgument, match="range"):
        client.reduce("histogram", expr="u", u=lanes.uniform(1), n=10)


def test_info_lists_expression_functions(client):
    fns = client.info()["expression_functions"]
    for f in ("sin", "where", "clip", "hypot", "square", "affine"):
        assert f in fns


# ---- the CLI ----

def test_cli_map_expression(daemon, cli_path, tmp_path):
    import subprocess
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=50_000), rng.normal(size=50_000)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    r = subprocess.run([str(cli_path), "--server", daemon.address, "map", "x*x + 1", "--in", str(tmp_path / "a.npy"),
                        "--out", str(tmp_path / "y.npy")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), a * a + 1)
    r = subprocess.run([str(cli_path), "--server", daemon.address, "map", "where(p > q, p, q) * k",
                        "--in", f"p={tmp_path / 'a.npy'}", "--in", f"q={tmp_path / 'b.npy'}", "--param", "k=2",
                        "--out", str(tmp_path / "m.npy")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "m.npy"), np.maximum(a, b) * 2)
    r = subprocess.run([str(cli_path), "--server", daemon.address, "map", "sine(x)", "--in", str(tmp_path / "a.npy"),
                        "--out", str(tmp_path / "z.npy")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "INVALID_ARGUMENT" in r.stderr and "unknown function 'sine'" in r.stderr
