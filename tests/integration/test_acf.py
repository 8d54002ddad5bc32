"""Acf and AcfOnce against a real lanesd, with statsmodels.tsa.stattools.acf as the reference.

statsmodels computes in float64 with plain sums (or its FFT, for long series); lanes streams the
series with compensated sums, so the two agree to rtol 1e-10 (atol 1e-12 for values near zero and
tiny p-values), also for a series whose mean is a million times its spread. The unary path (AcfOnce)
and the stream (Acf) must give the same bits for the same chunks, and agree to 1e-13 for any
chunking. Bad requests get INVALID_ARGUMENT with a message, and the daemon keeps serving.
"""
import warnings

import grpc
import numpy as np
import pytest
from statsmodels.tsa.stattools import acf as sm_acf

import lanes
from lanes.v1 import lanes_pb2

RNG = np.random.default_rng(20261122)
RTOL, ATOL = 1e-10, 1e-12


@pytest.fixture(scope="module")
def client(daemon):
    with lanes.Client(daemon.address, timeout=120) as c:
        yield c


@pytest.fixture(scope="module")
def small_chunks(daemon):
    """A client whose messages hold 4 KiB: every series over 512 float64 values is streamed."""
    with lanes.Client(daemon.address, timeout=120, chunk_bytes=4096) as c:
        yield c


def reference(x, **kw):
    """statsmodels' acf; its direct method is O(n^2) (a full np.correlate), so long series use its FFT."""
    x = np.asarray(x, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sm_acf(x, fft=x.size > 20_000, **kw)


def assert_same_layout(got, ref):
    if isinstance(ref, tuple):
        assert isinstance(got, tuple) and len(got) == len(ref)
        for g, r in zip(got, ref):
            assert g.shape == r.shape and g.dtype == np.float64
            np.testing.assert_allclose(g, r, rtol=RTOL, atol=ATOL)
    else:
        assert isinstance(got, np.ndarray) and got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL)


def ar1(n, phi=0.6, mean=0.0, scale=1.0):
    e = RNG.normal(size=n)
    x = np.empty(n)
    x[0] = e[0]
    for i in range(1, n):  # small n only
        x[i] = phi * x[i - 1] + e[i]
    return mean + scale * x


@pytest.mark.parametrize("n", [2, 3, 5, 17, 100, 1000])
@pytest.mark.parametrize("adjusted", [False, True])
def test_matches_statsmodels_every_nlags(client, n, adjusted):
    x = ar1(n)
    for nlags in [None] + sorted({0, 1, n // 2, n - 1}):
        kw = {} if nlags is None else {"nlags": nlags}
        assert_same_layout(client.acf(x, adjusted=adjusted, **kw), reference(x, adjusted=adjusted, **kw))


@pytest.mark.parametrize("alpha", [None, 0.05, 0.5])
@pytest.mark.parametrize("qstat", [False, True])
@pytest.mark.parametrize("adjusted", [False, True])
def test_intervals_and_ljung_box_in_statsmodels_layout(client, alpha, qstat, adjusted):
    x = ar1(500)
    got = client.acf(x, nlags=40, alpha=alpha, qstat=qstat, adjusted=adjusted)
    ref = reference(x, nlags=40, alpha=alpha, qstat=qstat, adjusted=adjusted)
    assert_same_layout(got, ref)
    if alpha is not None:
        assert got[1].shape == (41, 2)
    if qstat:
        assert got[-1].shape == (40,) and got[-2].shape == (40,)


@pytest.mark.parametrize("n", [50_000, 300_000])
@pytest.mark.parametrize("method", ["auto", "direct", "fft"])
def test_long_series_and_methods(client, n, method):
    x = np.cumsum(RNG.normal(size=n)) * 0.01 + RNG.normal(size=n)
    for nlags in (None, 10, 200):
        kw = {} if nlags is None else {"nlags": nlags}
        got = client.acf(x, method=method, alpha=0.05, qstat=True, **kw)
        assert_same_layout(got, reference(x, alpha=0.05, qstat=True, **kw))


def test_large_mean(client):
    """Mean 1e6 times the standard deviation: the demeaning must not lose the signal."""
    x = ar1(20_000, mean=1e6, scale=1.0)
    for method in ("direct", "fft"):
        assert_same_layout(client.acf(x, nlags=50, method=method), reference(x, nlags=50))
        assert_same_layout(client.acf(x, nlags=50, adjusted=True, method=method, qstat=True),
                           reference(x, nlags=50, adjusted=True, qstat=True))


@pytest.mark.parametrize("dtype", ["float32", "int64", "int32"])
def test_other_dtypes_are_computed_in_float64(client, dtype):
    x = (ar1(3000) * 100).astype(dtype)
    assert_same_layout(client.acf(x, nlags=30, qstat=True), reference(x.astype(np.float64), nlags=30, qstat=True))


STREAM_CASES = [{"nlags": 30}, {"nlags": 300, "method": "fft"}, {"alpha": 0.05, "qstat": True},
                {"nlags": 100, "adjusted": True, "method": "direct"}]


def test_stream_equals_once_bit_for_bit(client):
    """The same chunks through AcfOnce and through the Acf stream give the same bits."""
    x = ar1(20_000)
    for kw in STREAM_CASES:
        once = client.acf(x, **kw)
        assert int(client.last_summary["chunks"]) <= 1
        streamed = client.acf(iter([x]), n=x.size, **kw)  # an iterable always streams
        for a, b in zip(*(r if isinstance(r, tuple) else (r,) for r in (once, streamed))):
            np.testing.assert_array_equal(a, b)


def test_any_chunking_agrees(client, small_chunks):
    x = ar1(20_000)
    for kw in STREAM_CASES:
        once = client.acf(x, **kw)
        streamed = small_chunks.acf(x, **kw)
        assert int(small_chunks.last_summary["chunks"]) == -(-x.nbytes // 4096)
        chunks = small_chunks.acf((x[i:i + 777] for i in range(0, x.size, 777)), n=x.size, **kw)
        for a, b, c in zip(*(r if isinstance(r, tuple) else (r,) for r in (once, streamed, chunks))):
            np.testing.assert_allclose(b, a, rtol=1e-13, atol=1e-15)
            np.testing.assert_allclose(c, a, rtol=1e-13, atol=1e-15)


def test_any_chunking_gives_the_same_bits(client):
    x = ar1(20_000)
    for kw in STREAM_CASES:
        once = client.acf(x, **kw)
        for per in (7, 512, 777, 1000):
            got = client.acf((x[i:i + per] for i in range(0, x.size, per)), n=x.size, **kw)
            for a, b in zip(*(r if isinstance(r, tuple) else (r,) for r in (once, got))):
                np.testing.assert_array_equal(b, a)


def test_chunks_without_n_need_nlags(small_chunks):
    x = ar1(5000)
    got = small_chunks.acf(iter([x[:1234], x[1234:]]), nlags=20)
    assert_same_layout(got, reference(x, nlags=20))
    with pytest.raises(lanes.InvalidArgument):
        small_chunks.acf(iter([x]))


def test_nan_and_constant_give_nan_as_statsmodels(client):
    x = ar1(100)
    x[10] = np.nan
    assert np.isnan(client.acf(x, nlags=5)).all()
    c = client.acf(np.full(100, 3.0), nlags=5)
    assert np.isnan(c).all() and np.isnan(reference(np.full(100, 3.0), nlags=5)).all()


# ---- bad input: a clear status and message, and the daemon keeps serving ----

def test_nlags_over_n_minus_1(client, small_chunks):
    for c in (client, small_chunks):
        with pytest.raises(lanes.InvalidArgument) as e:
            c.acf(np.arange(1000.0), nlags=1000)
        assert "nlags" in e.value.message


def test_empty_series(client):
    with pytest.raises(lanes.InvalidArgument) as e:
        client.acf(np.array([], dtype=np.float64))
    assert e.value.message


def test_alpha_out_of_range_reaches_the_daemon(daemon, client):
    with pytest.raises(lanes.InvalidArgument):
        client.acf(np.arange(10.0), alpha=1.5)  # refused by the client
    stub = client._stub
    for alpha in (1.0, 1.5, -0.1, float("nan")):
        spec = lanes_pb2.AcfSpec(dtype=lanes_pb2.FLOAT64, nlags=3, alpha=alpha)
        with pytest.raises(grpc.RpcError) as e:
            stub.AcfOnce(lanes_pb2.AcfCall(spec=spec, chunk=lanes_pb2.Chunk(arrays=[np.arange(10.0).tobytes()])),
                         timeout=30)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "alpha" in e.value.details()


def raw_acf_stream(stub, messages):
    try:
        replies = list(stub.Acf(iter(messages), timeout=30))
    except grpc.RpcError as e:
        return e.code(), e.details(), []
    return grpc.StatusCode.OK, "", replies


def test_bad_dtype_and_bad_chunks(client):
    stub = client._stub
    data = np.arange(16.0).tobytes()
    cases = [
        # unspecified dtype
        [lanes_pb2.AcfRequest(spec=lanes_pb2.AcfSpec(nlags=2)),
         lanes_pb2.AcfRequest(chunk=lanes_pb2.Chunk(arrays=[data]))],
        # a chunk that is not a whole number of float64 values
        [lanes_pb2.AcfRequest(spec=lanes_pb2.AcfSpec(dtype=lanes_pb2.FLOAT64, nlags=2)),
         lanes_pb2.AcfRequest(chunk=lanes_pb2.Chunk(arrays=[data[:13]]))],
        # two arrays in a chunk
        [lanes_pb2.AcfRequest(spec=lanes_pb2.AcfSpec(dtype=lanes_pb2.FLOAT64, nlags=2)),
         lanes_pb2.AcfRequest(chunk=lanes_pb2.Chunk(arrays=[data, data]))],
        # no spec first
        [lanes_pb2.AcfRequest(chunk=lanes_pb2.Chunk(arrays=[data]))],
        # default nlags without n
        [lanes_pb2.AcfRequest(spec=lanes_pb2.AcfSpec(dtype=lanes_pb2.FLOAT64)),
         lanes_pb2.AcfRequest(chunk=lanes_pb2.Chunk(arrays=[data]))],
        # announced n differs from the values sent
        [lanes_pb2.AcfRequest(spec=lanes_pb2.AcfSpec(dtype=lanes_pb2.FLOAT64, n=100)),
         lanes_pb2.AcfRequest(chunk=lanes_pb2.Chunk(arrays=[data]))],
        # negative nlags
        [lanes_pb2.AcfRequest(spec=lanes_pb2.AcfSpec(dtype=lanes_pb2.FLOAT64, nlags=-3)),
         lanes_pb2.AcfRequest(chunk=lanes_pb2.Chunk(arrays=[data]))],
    ]
    for msgs in cases:
        code, details, _ = raw_acf_stream(stub, msgs)
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (msgs[0], code, details)
        assert details
    with pytest.raises(grpc.RpcError) as e:
        stub.AcfOnce(lanes_pb2.AcfCall(spec=lanes_pb2.AcfSpec(nlags=2), chunk=lanes_pb2.Chunk(arrays=[data])),
                     timeout=30)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(TypeError):
        client.acf(np.array([1 + 2j, 3j]))  # refused by the client: complex numbers do not travel
    # still serving
    assert_same_layout(client.acf(np.arange(10.0) ** 2, nlags=3), reference(np.arange(10.0) ** 2, nlags=3))
