"""Every kind of bad input gets a clear gRPC status naming the problem, and the daemon keeps serving.

Requests are built by hand (raw bytes on a generic channel where the client library would refuse to
send them) so each case reaches the daemon exactly as a buggy or hostile client would send it.
"""
import threading

import grpc
import numpy as np
import pytest

import lanes
from lanes.v1 import lanes_pb2

F64 = lanes_pb2.FLOAT64


@pytest.fixture(scope="module")
def channel(daemon):
    ch = grpc.insecure_channel(daemon.address)
    yield ch
    ch.close()


def raw_stream(channel, method, messages, timeout=30):
    """Sends serialized messages on a client stream and returns (code, details, replies)."""
    call = channel.stream_stream(method, request_serializer=lambda m: m.SerializeToString()
                                 if hasattr(m, "SerializeToString") else m,
                                 response_deserializer=lambda b: b)
    replies = []
    try:
        for r in call(iter(messages), timeout=timeout):
            replies.append(r)
    except grpc.RpcError as e:
        return e.code(), e.details(), replies
    return grpc.StatusCode.OK, "", replies


def map_spec(fn="square", dtypes=(F64,), **params):
    return lanes_pb2.MapRequest(spec=lanes_pb2.MapSpec(function=fn, input_dtypes=list(dtypes), params=params))


def chunk(*arrays):
    return lanes_pb2.MapRequest(chunk=lanes_pb2.Chunk(arrays=[a if isinstance(a, bytes) else a.tobytes()
                                                              for a in arrays]))


def reduce_spec(op="sum", dtype=F64, **kw):
    return lanes_pb2.ReduceRequest(spec=lanes_pb2.ReduceSpec(op=op, dtype=dtype, **kw))


def rchunk(data):
    return lanes_pb2.ReduceRequest(chunk=lanes_pb2.Chunk(arrays=[data]))


def acf_spec(**kw):
    return lanes_pb2.AcfRequest(spec=lanes_pb2.AcfSpec(**kw))


def achunk(data):
    return lanes_pb2.AcfRequest(chunk=lanes_pb2.Chunk(arrays=[data]))


def text_chunk(cls, data):
    return cls(chunk=lanes_pb2.Chunk(arrays=[data]))


MAP = "/lanes.v1.Lanes/Map"
REDUCE = "/lanes.v1.Lanes/Reduce"
ACF = "/lanes.v1.Lanes/Acf"
WORDCOUNT = "/lanes.v1.Lanes/WordCount"
WORDACF = "/lanes.v1.Lanes/WordAcf"
CORPUS = "/lanes.v1.Lanes/Corpus"
WC, WA = lanes_pb2.WordCountRequest, lanes_pb2.WordAcfRequest


def cspec(**kw):
    kw.setdefault("word_count", True)
    return lanes_pb2.CorpusRequest(spec=lanes_pb2.CorpusSpec(**kw))


def piece(name="", data=b"a b", last=True):
    return lanes_pb2.CorpusRequest(doc=lanes_pb2.DocPiece(name=name, data=data, last=last))
X = np.arange(10.0)

CASES = [
    ("unknown function", MAP, [map_spec("sine"), chunk(X)], grpc.StatusCode.INVALID_ARGUMENT,
     "unknown function 'sine'"),
    ("missing parameter", MAP, [map_spec("affine", a=2.0), chunk(X)], grpc.StatusCode.INVALID_ARGUMENT,
     "'affine' needs parameter 'b'"),
    ("unknown parameter", MAP, [map_spec("square", n=2.0), chunk(X)], grpc.StatusCode.INVALID_ARGUMENT,
     "'square' takes no parameter 'n'"),
    ("wrong input count", MAP, [map_spec("sqrt", (F64, F64)), chunk(X, X)], grpc.StatusCode.INVALID_ARGUMENT,
     "input"),
    ("bad input dtype", MAP, [map_spec("square", (17,)), chunk(X)], grpc.StatusCode.INVALID_ARGUMENT,
     "input_dtypes[0] is 17"),
    ("no input dtype", MAP, [map_spec("square", ()), chunk(X)], grpc.StatusCode.INVALID_ARGUMENT,
     "input_dtypes has 0 entries"),
    ("bad output dtype", MAP,
     [lanes_pb2.MapRequest(spec=lanes_pb2.MapSpec(function="square", input_dtypes=[F64],
                                                  output_dtype=lanes_pb2.INT64)), chunk(X)],
     grpc.StatusCode.INVALID_ARGUMENT, "output dtype must be float64 or float32"),
    ("chunk not a multiple of the dtype", MAP, [map_spec(), chunk(b"\0" * 1001)], grpc.StatusCode.INVALID_ARGUMENT,
     "1001 bytes, which is not a multiple of 8 (the size of float64)"),
    ("data before the spec", MAP, [chunk(X), map_spec()], grpc.StatusCode.INVALID_ARGUMENT,
     "before the job spec"),
    ("spec twice", MAP, [map_spec(), map_spec()], grpc.StatusCode.INVALID_ARGUMENT, "sent twice"),
    ("chunk with too few arrays", MAP, [map_spec("power", (F64, F64)), chunk(X)],
     grpc.StatusCode.INVALID_ARGUMENT, "has 1 array(s), but the job has 2 input(s)"),
    ("arrays of unequal length", MAP, [map_spec("power", (F64, F64)), chunk(X, X[:3])],
     grpc.StatusCode.INVALID_ARGUMENT, "must have equal lengths"),
    ("stream without spec", MAP, [], grpc.StatusCode.INVALID_ARGUMENT, "ended before the job spec"),
    ("garbage message", MAP, [b"\xff\xff\xff"], grpc.StatusCode.INVALID_ARGUMENT, "malformed"),
    ("empty message", MAP, [b""], grpc.StatusCode.INVALID_ARGUMENT, "malformed"),
    ("forced cuda without a device", MAP,
     [lanes_pb2.MapRequest(spec=lanes_pb2.MapSpec(function="square", input_dtypes=[F64],
                                                  backend=lanes_pb2.BACKEND_CUDA)), chunk(X)],
     grpc.StatusCode.FAILED_PRECONDITION, "backend 'cuda' is not available"),
    ("forced process pool for map", MAP,
     [lanes_pb2.MapRequest(spec=lanes_pb2.MapSpec(function="square", input_dtypes=[F64],
                                                  backend=lanes_pb2.BACKEND_PROCESS_POOL)), chunk(X)],
     grpc.StatusCode.FAILED_PRECONDITION, "runs batches of documents (the Corpus call), not map jobs"),
    ("unknown backend number", MAP,
     [lanes_pb2.MapRequest(spec=lanes_pb2.MapSpec(function="square", input_dtypes=[F64], backend=9)), chunk(X)],
     grpc.StatusCode.INVALID_ARGUMENT, "unknown backend 9"),
    ("unknown reduce op", REDUCE, [reduce_spec("median"), rchunk(X.tobytes())], grpc.StatusCode.INVALID_ARGUMENT,
     "unknown reduce op 'median'"),
    ("reduce bad dtype", REDUCE, [reduce_spec(dtype=0), rchunk(X.tobytes())], grpc.StatusCode.INVALID_ARGUMENT,
     "dtype is 0"),
    ("reduce bad chunk length", REDUCE, [reduce_spec(dtype=lanes_pb2.INT32), rchunk(b"123")],
     grpc.StatusCode.INVALID_ARGUMENT, "not a multiple of 4 (the size of int32)"),
    ("histogram without range", REDUCE, [reduce_spec("histogram", bins=4), rchunk(X.tobytes())],
     grpc.StatusCode.INVALID_ARGUMENT, "range"),
    ("histogram with reversed range", REDUCE,
     [reduce_spec("histogram", bins=4, range=lanes_pb2.Range(lo=2, hi=1)), rchunk(X.tobytes())],
     grpc.StatusCode.INVALID_ARGUMENT, "max must be larger than min"),
    ("histogram with infinite range", REDUCE,
     [reduce_spec("histogram", bins=4, range=lanes_pb2.Range(lo=0, hi=float("inf"))), rchunk(X.tobytes())],
     grpc.StatusCode.INVALID_ARGUMENT, "not finite"),
    ("histogram with too many bins", REDUCE,
     [reduce_spec("histogram", bins=1 << 20, range=lanes_pb2.Range(lo=0, hi=1)), rchunk(X.tobytes())],
     grpc.StatusCode.INVALID_ARGUMENT, "bins"),
    ("var with NaN ddof", REDUCE, [reduce_spec("var", ddof=float("nan")), rchunk(X.tobytes())],
     grpc.StatusCode.INVALID_ARGUMENT, "ddof"),
    ("reduce with two arrays", REDUCE,
     [reduce_spec(), lanes_pb2.ReduceRequest(chunk=lanes_pb2.Chunk(arrays=[X.tobytes(), X.tobytes()]))],
     grpc.StatusCode.INVALID_ARGUMENT, "has 2 array(s), but the job has 1 input(s)"),
    ("empty argmax", REDUCE, [reduce_spec("argmax")], grpc.StatusCode.INVALID_ARGUMENT,
     "attempt to get argmax of an empty sequence"),
    ("acf default nlags without n", ACF, [acf_spec(dtype=F64), achunk(X.tobytes())],
     grpc.StatusCode.INVALID_ARGUMENT, "needs n in the AcfSpec"),
    ("acf negative nlags", ACF, [acf_spec(dtype=F64, nlags=-3), achunk(X.tobytes())],
     grpc.StatusCode.INVALID_ARGUMENT, "nlags is -3"),
    ("acf nlags not below n", ACF, [acf_spec(dtype=F64, nlags=10), achunk(X.tobytes())],
     grpc.StatusCode.INVALID_ARGUMENT, "nlags"),
    ("acf n announced but not sent", ACF, [acf_spec(dtype=F64, n=20), achunk(X.tobytes())],
     grpc.StatusCode.INVALID_ARGUMENT, "20"),
    ("acf alpha out of range", ACF, [acf_spec(dtype=F64, nlags=2, alpha=1.5), achunk(X.tobytes())],
     grpc.StatusCode.INVALID_ARGUMENT, "alpha"),
    ("acf empty series", ACF, [acf_spec(dtype=F64, nlags=0)], grpc.StatusCode.INVALID_ARGUMENT, "n"),
    ("acf bad dtype", ACF, [acf_spec(dtype=7, nlags=2), achunk(X.tobytes())], grpc.StatusCode.INVALID_ARGUMENT,
     "AcfSpec.dtype is 7"),
    ("acf bad method", ACF, [acf_spec(dtype=F64, nlags=2, method=9), achunk(X.tobytes())],
     grpc.StatusCode.INVALID_ARGUMENT, "AcfSpec.method is 9"),
    ("acf forced process pool", ACF, [acf_spec(dtype=F64, nlags=2, backend=lanes_pb2.BACKEND_PROCESS_POOL),
                                      achunk(X.tobytes())],
     grpc.StatusCode.FAILED_PRECONDITION, "not acf jobs"),
    ("word count of non-UTF-8", WORDCOUNT, [WC(spec=lanes_pb2.WordCountSpec()), text_chunk(WC, b"ok caf\xc3"),
                                           text_chunk(WC, b"(\xff)")],
     grpc.StatusCode.INVALID_ARGUMENT, "invalid UTF-8 at byte 6"),
    ("word count cut inside a code point", WORDCOUNT, [WC(spec=lanes_pb2.WordCountSpec()),
                                                      text_chunk(WC, b"caf\xc3")],
     grpc.StatusCode.INVALID_ARGUMENT, "invalid UTF-8 at byte 3"),
    ("word count with two arrays", WORDCOUNT,
     [WC(spec=lanes_pb2.WordCountSpec()), WC(chunk=lanes_pb2.Chunk(arrays=[b"a", b"b"]))],
     grpc.StatusCode.INVALID_ARGUMENT, "has 2 array(s)"),
    ("word ACF of no words", WORDACF, [WA(spec=lanes_pb2.WordAcfSpec()), text_chunk(WA, b" \t\r\n ")],
     grpc.StatusCode.INVALID_ARGUMENT, "no words"),
    ("word ACF bad mode", WORDACF, [WA(spec=lanes_pb2.WordAcfSpec(mode=5)), text_chunk(WA, b"a b")],
     grpc.StatusCode.INVALID_ARGUMENT, "mode is 5"),
    ("word ACF too many lags", WORDACF, [WA(spec=lanes_pb2.WordAcfSpec(timesteps=10**6)), text_chunk(WA, b"a b")],
     grpc.StatusCode.INVALID_ARGUMENT, "timesteps is 1000000; at most 100000"),
    ("corpus asks for nothing", CORPUS, [cspec(word_count=False), piece("a")], grpc.StatusCode.INVALID_ARGUMENT,
     "asks for nothing"),
    ("corpus document before the spec", CORPUS, [piece("a")], grpc.StatusCode.INVALID_ARGUMENT,
     "before the corpus spec"),
    ("corpus document without a name", CORPUS, [cspec(), piece("")], grpc.StatusCode.INVALID_ARGUMENT,
     "document #1 has no name"),
    ("corpus duplicate names", CORPUS, [cspec(), piece("a.txt"), piece("a.txt")], grpc.StatusCode.INVALID_ARGUMENT,
     "document name 'a.txt' was sent twice"),
    ("corpus interleaved documents", CORPUS, [cspec(), piece("a.txt", last=False), piece("b.txt")],
     grpc.StatusCode.INVALID_ARGUMENT, "a piece of document 'b.txt' arrived before the last piece of document 'a.txt'"),
    ("corpus ends inside a document", CORPUS, [cspec(), piece("a.txt", last=False)],
     grpc.StatusCode.INVALID_ARGUMENT, "ended inside document 'a.txt'"),
    ("corpus bad mode", CORPUS, [cspec(word_acf=True, mode=4), piece("a")], grpc.StatusCode.INVALID_ARGUMENT,
     "CorpusSpec.mode is 4"),
    ("corpus forced onto the cpu", CORPUS, [cspec(backend=lanes_pb2.BACKEND_CPU), piece("a")],
     grpc.StatusCode.FAILED_PRECONDITION, "a corpus runs on the process pool only"),
    ("corpus too many lags", CORPUS, [cspec(word_acf=True, timesteps=10**7), piece("a")],
     grpc.StatusCode.INVALID_ARGUMENT, "timesteps"),
    ("word ACF on cuda", WORDACF, [WA(spec=lanes_pb2.WordAcfSpec(backend=lanes_pb2.BACKEND_CUDA)),
                                   text_chunk(WA, b"a b")],
     grpc.StatusCode.FAILED_PRECONDITION, "does not run text jobs"),
]


@pytest.mark.parametrize("name,method,messages,code,text", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_status(channel, daemon, name, method, messages, code, text):
    got_code, details, _ = raw_stream(channel, method, messages)
    assert got_code == code, (got_code, details)
    assert text in details, details
    # ... and the daemon still serves everyone.
    with lanes.Client(daemon.address) as c:
        assert c.reduce("sum", np.arange(5.0)) == 10.0


def test_once_calls_validate_too(daemon):
    with lanes.Client(daemon.address) as c:
        with pytest.raises(lanes.InvalidArgument, match="unknown function 'sine'"):
            c.map("sine", np.arange(3.0))
        with pytest.raises(lanes.InvalidArgument, match="unknown reduce op"):
            c.reduce("median", np.arange(3.0))
    ch = grpc.insecure_channel(daemon.address)
    once = ch.unary_unary("/lanes.v1.Lanes/MapOnce", request_serializer=lambda b: b,
                          response_deserializer=lambda b: b)
    with pytest.raises(grpc.RpcError) as e:
        once(lanes_pb2.MapCall(chunk=lanes_pb2.Chunk(arrays=[X.tobytes()])).SerializeToString(), timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "has no spec" in e.value.details()
    ch.close()


def test_too_large_message_is_resource_exhausted(channel, daemon):
    big = np.zeros((5 << 20) // 8)  # 5 MiB in one message: over the 4 MiB + framing limit
    code, details, _ = raw_stream(channel, MAP, [map_spec(), chunk(big)])
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, details
    assert "larger than max" in details or "message" in details.lower()
    with lanes.Client(daemon.address) as c:
        np.testing.assert_array_equal(c.map("square", np.arange(4.0)), [0, 1, 4, 9])


def test_unknown_method_is_unimplemented_at_once(channel):
    call = channel.unary_unary("/lanes.v1.Lanes/Frobnicate", request_serializer=lambda b: b,
                               response_deserializer=lambda b: b)
    with pytest.raises(grpc.RpcError) as e:
        call(b"", timeout=120)
    # answered, not left to the deadline (that would be DEADLINE_EXCEEDED): no clock needed
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "/lanes.v1.Lanes/Frobnicate" in e.value.details()


def test_a_bad_request_does_not_harm_concurrent_good_ones(daemon, channel):
    errors = []
    x = np.random.default_rng(7).normal(size=2_000_000)
    ref = x * x

    def good():
        try:
            with lanes.Client(daemon.address) as c:
                for _ in range(3):
                    np.testing.assert_array_equal(c.map("square", x), ref)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=good) for _ in range(3)]
    for t in threads:
        t.start()
    for _ in range(20):
        code, _, _ = raw_stream(channel, MAP, [map_spec(), chunk(b"\1" * 13)])
        assert code == grpc.StatusCode.INVALID_ARGUMENT
    for t in threads:
        t.join()
    assert not errors, errors


def test_client_that_vanishes_mid_stream_is_cleaned_up(daemon):
    """A client cancelling mid-stream must not leave the daemon stuck: later calls still work."""
    with lanes.Client(daemon.address) as c:
        chunks = (np.ones(100_000) for _ in range(1000))
        it = c.map_iter("square", chunks)
        for _ in range(3):
            next(it)
        it.close()  # cancels the call
        assert c.reduce("sum", np.ones(1000)) == 1000.0
