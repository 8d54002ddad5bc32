"""Hostile input found by attacking the daemon from outside (issue 11), each through the real daemon.

- A tiny one-message request must not make the daemon compute a result that cannot fit one reply:
  MapOnce with generated inputs and a large n is refused before anything is computed (the daemon's
  peak resident set, VmHWM of /proc/PID/status, barely moves), and a streamed generated Map stays
  bounded. After a large job the idle daemon's resident set goes back down.
- A streamed text (WordAcf, WordCount) is bounded by max_doc_bytes as a Corpus document is, and the
  memory of the daemon's spools (memfds: shared memory, not in its resident set) shows in Info.
- A NUL byte in any string field of a request is refused, naming the field, instead of silently
  cutting the name or expression short.

Memory is measured in the daemon's own view (/proc/PID/status), against the size the job needs; the
sanitizer build's allocator keeps freed memory in quarantine, so assertions about memory returned to
the system skip there (the status and message checks run on every build).
"""
import re
import threading
import time

import grpc
import numpy as np
import pytest

import lanes
from lanes.v1 import lanes_pb2

from conftest import BUILD

F64, F32 = lanes_pb2.FLOAT64, lanes_pb2.FLOAT32
ONCE_MAX_REPLY = 4 << 20
MAP, MAP_ONCE = "/lanes.v1.Lanes/Map", "/lanes.v1.Lanes/MapOnce"
REDUCE, REDUCE_ONCE = "/lanes.v1.Lanes/Reduce", "/lanes.v1.Lanes/ReduceOnce"
ACF, ACF_ONCE = "/lanes.v1.Lanes/Acf", "/lanes.v1.Lanes/AcfOnce"
WORDCOUNT, WORDCOUNT_ONCE = "/lanes.v1.Lanes/WordCount", "/lanes.v1.Lanes/WordCountOnce"
WORDACF, WORDACF_ONCE = "/lanes.v1.Lanes/WordAcf", "/lanes.v1.Lanes/WordAcfOnce"
CORPUS = "/lanes.v1.Lanes/Corpus"


def sanitized():
    cache = BUILD / "CMakeCache.txt"
    return cache.exists() and "LANES_SANITIZE:BOOL=ON" in cache.read_text()


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def unary(channel, method, request, timeout=120):
    """Sends one request message; returns (code, details, reply bytes)."""
    call = channel.unary_unary(method, request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=lambda b: b)
    try:
        return grpc.StatusCode.OK, "", call(request, timeout=timeout)
    except grpc.RpcError as e:
        return e.code(), e.details(), None


def stream(channel, method, messages, timeout=300, on_reply=None):
    """Sends messages on a stream; returns (code, details, replies) (replies dropped with on_reply)."""
    call = channel.stream_stream(method, request_serializer=lambda m: m.SerializeToString(),
                                 response_deserializer=lambda b: b)
    replies = []
    try:
        for r in call(iter(messages), timeout=timeout):
            if on_reply:
                on_reply(r)
            else:
                replies.append(r)
    except grpc.RpcError as e:
        return e.code(), e.details(), replies
    return grpc.StatusCode.OK, "", replies


def stream_unary(channel, method, messages, timeout=300):
    call = channel.stream_unary(method, request_serializer=lambda m: m.SerializeToString(),
                                response_deserializer=lambda b: b)
    try:
        return grpc.StatusCode.OK, "", call(iter(messages), timeout=timeout)
    except grpc.RpcError as e:
        return e.code(), e.details(), None


def generated_map_call(n, fn="u", out=F64, name="u", kind=lanes_pb2.Generated.UNIFORM, **gen):
    spec = lanes_pb2.MapSpec(function=fn, output_dtype=out, n=n,
                             generated=[lanes_pb2.Generated(name=name, kind=kind, seed=7, **gen)])
    return lanes_pb2.MapCall(spec=spec)


INFO_FIELDS = {18: "rss_bytes", 19: "spool_bytes", 20: "spools", 21: "memory_bytes", 22: "max_doc_bytes"}


def info_memory(address):
    """Info's memory fields, read from the reply's wire bytes (so the test does not depend on the
    installed client's generated stubs being as new as the daemon's proto)."""
    with grpc.insecure_channel(address) as ch:
        code, details, b = unary(ch, "/lanes.v1.Lanes/Info", lanes_pb2.InfoRequest(), timeout=60)
    assert code == grpc.StatusCode.OK, details
    out = {name: 0 for name in INFO_FIELDS.values()}
    i = 0

    def varint():
        nonlocal i
        v = shift = 0
        while True:
            c = b[i]
            i += 1
            v |= (c & 0x7F) << shift
            shift += 7
            if not c & 0x80:
                return v

    while i < len(b):
        key = varint()
        field, wt = key >> 3, key & 7
        if wt == 0:
            v = varint()
            if field in INFO_FIELDS:
                out[INFO_FIELDS[field]] = v
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        elif wt == 2:
            n = varint()
            i += n
        else:
            raise AssertionError(f"wire type {wt} in InfoResponse")
    return out


@pytest.fixture
def fresh(start_daemon):
    """A daemon of this test's own, so its peak resident set (VmHWM) is this test's; and a channel."""
    d = start_daemon()
    ch = grpc.insecure_channel(d.address)
    yield d, ch
    ch.close()
    assert d.stop() == 0, d.log()


# ---- 1. one-message jobs are refused before computing a result that cannot fit one reply ----

def test_map_once_with_generated_inputs_too_large_for_one_reply_is_refused_before_computing(fresh):
    d, ch = fresh
    pid = d.proc.pid
    before = status_kib(pid, "VmHWM")
    n = 50_000_000  # 400 MB of float64: the old daemon computed all of it, then refused the reply
    code, details, _ = unary(ch, MAP_ONCE, generated_map_call(n))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, (code, details)
    grown_kib = status_kib(pid, "VmHWM") - before
    assert grown_kib * 1024 < n * 8 // 8, f"the daemon's peak grew by {grown_kib} KiB for a refused job"
    assert f"{n} elements of 8 bytes ({n * 8} bytes)" in details, details
    assert f"({ONCE_MAX_REPLY} bytes)" in details and "streaming map" in details, details

    # The issue's own request (n = 1e9, 8 GB) and sizes past 2^64 bytes: refused the same way.
    for big, text in ((10**9, "8000000000 bytes"), (2**62, "over 2^64 bytes"), (2**64 - 1, "over 2^64 bytes")):
        code, details, _ = unary(ch, MAP_ONCE, generated_map_call(big))
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, (big, code, details)
        assert f"{big} elements" in details and text in details, details
    assert (status_kib(pid, "VmHWM") - before) * 1024 < n * 8 // 8

    # The size follows the output dtype: float32 halves it.
    code, details, _ = unary(ch, MAP_ONCE, generated_map_call(1_100_000, out=F32))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "1100000 elements of 4 bytes" in details, details


def test_map_once_with_generated_inputs_that_fit_still_answers(fresh):
    d, ch = fresh
    n = 400_000  # 3.2 MB of float64: fits one reply
    code, details, reply = unary(ch, MAP_ONCE, generated_map_call(
        n, fn="k * k + 1", name="k", kind=lanes_pb2.Generated.RANGE, start=-3.0, step=0.25))
    assert code == grpc.StatusCode.OK, details
    r = lanes_pb2.MapResult.FromString(reply)
    got = np.frombuffer(b"".join(r.chunk.arrays), dtype=np.float64)
    k = -3.0 + 0.25 * np.arange(n)
    np.testing.assert_array_equal(got, k * k + 1)
    assert r.summary.elements == n

    n32 = 1_000_000  # 4 MB of float32: fits too
    code, details, reply = unary(ch, MAP_ONCE, generated_map_call(
        n32, fn="k", out=F32, name="k", kind=lanes_pb2.Generated.RANGE, start=0.0, step=1.0))
    assert code == grpc.StatusCode.OK, details
    got = np.frombuffer(b"".join(lanes_pb2.MapResult.FromString(reply).chunk.arrays), dtype=np.float32)
    np.testing.assert_array_equal(got, np.arange(n32, dtype=np.float32))


def test_map_once_with_a_chunk_whose_result_cannot_fit_is_refused_naming_the_sizes(fresh):
    d, ch = fresh
    x = np.arange(1_000_000, dtype=np.float32)  # 4 MB in, 8 MB of float64 out
    req = lanes_pb2.MapCall(spec=lanes_pb2.MapSpec(function="square", input_dtypes=[F32]),
                            chunk=lanes_pb2.Chunk(arrays=[x.tobytes()]))
    code, details, _ = unary(ch, MAP_ONCE, req)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, (code, details)
    assert "1000000 elements of 8 bytes (8000000 bytes)" in details, details
    with lanes.Client(d.address) as c:  # the daemon still serves, and the stream does the job
        np.testing.assert_array_equal(c.map("square", x), np.square(x.astype(np.float64)))


def test_word_count_once_whose_table_cannot_fit_one_reply_stops_at_the_bound(fresh):
    """A result whose size n does not tell (a word table) stops once it passes one reply's bound."""
    d, ch = fresh
    words = " ".join(f"w{i:07d}" for i in range(400_000)).encode()  # 3.6 MB in, > 4 MiB of table out
    req = lanes_pb2.WordCountCall(spec=lanes_pb2.WordCountSpec(), chunk=lanes_pb2.Chunk(arrays=[words]))
    code, details, _ = unary(ch, WORDCOUNT_ONCE, req)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, (code, details)
    assert "larger than a one-message reply allows" in details and "streaming wordcount" in details, details
    # The streamed call sends the same table in pieces.
    code, details, replies = stream(ch, WORDCOUNT, text_messages(lanes_pb2.WordCountRequest,
                                                                 lanes_pb2.WordCountSpec(), words))
    assert code == grpc.StatusCode.OK, details
    rs = [lanes_pb2.WordCountResponse.FromString(b) for b in replies]
    got = [w for r in rs if r.WhichOneof("msg") == "counts" for w in r.counts.words]
    assert got == [f"w{i:07d}" for i in range(400_000)]
    assert rs[-1].done.distinct_words == 400_000


def test_streamed_map_with_generated_inputs_stays_bounded(fresh):
    if sanitized():
        pytest.skip("the sanitizer's allocator quarantines freed memory: peak RSS is not the daemon's")
    d, ch = fresh
    pid = d.proc.pid
    before = status_kib(pid, "VmHWM")
    n = 20_000_000  # 160 MB of results, streamed
    spec = lanes_pb2.MapSpec(function="k * 2", n=n,
                             generated=[lanes_pb2.Generated(name="k", kind=lanes_pb2.Generated.RANGE,
                                                            start=0.0, step=1.0)])
    seen = [0, 0.0]

    def take(b):
        r = lanes_pb2.MapResponse.FromString(b)
        if r.WhichOneof("msg") == "chunk":
            a = np.frombuffer(r.chunk.arrays[0], dtype=np.float64)
            seen[1] += float(a.sum())
            seen[0] += a.size

    code, details, _ = stream(ch, MAP, [lanes_pb2.MapRequest(spec=spec)], on_reply=take)
    assert code == grpc.StatusCode.OK, details
    assert seen[0] == n and seen[1] == float(n) * (n - 1)  # sum of 2k, exact in float64 here
    grown = (status_kib(pid, "VmHWM") - before) * 1024
    assert grown < n * 8 // 4, f"the daemon's peak grew by {grown} bytes streaming {n * 8} bytes"


def test_idle_daemon_gives_a_large_jobs_memory_back(start_daemon):
    """A job that needs N bytes at once (one 96 MiB chunk in, its 192 MiB of results queued) leaves the
    idle daemon's resident set well below N once it has ended."""
    if sanitized():
        pytest.skip("the sanitizer's allocator quarantines freed memory")
    d = start_daemon("--max-message-bytes", "128MiB")
    pid = d.proc.pid
    x = np.arange(24 << 20, dtype=np.float32)  # 96 MiB
    needed = x.size * (4 + 8)
    with lanes.Client(d.address, timeout=300) as c:
        ch = grpc.insecure_channel(d.address, options=[("grpc.max_send_message_length", 256 << 20)])
        spec = lanes_pb2.MapRequest(spec=lanes_pb2.MapSpec(function="square", input_dtypes=[F32]))
        total = [0]
        code, details, _ = stream(ch, MAP, [spec, lanes_pb2.MapRequest(chunk=lanes_pb2.Chunk(arrays=[x.tobytes()]))],
                                  on_reply=lambda b: total.__setitem__(0, total[0] + len(b)))
        ch.close()
        assert code == grpc.StatusCode.OK, details
        assert total[0] > x.size * 8
        peak = status_kib(pid, "VmHWM") * 1024
        assert peak > needed // 2  # the job did hold its data (else this test shows nothing)
        c.info()  # a later call: the job's call has ended and its memory is freed by now
        rss = status_kib(pid, "VmRSS") * 1024
    assert rss < needed // 4, f"idle daemon holds {rss} bytes after a job that needed {needed}"
    assert d.stop() == 0


# ---- 2. max_doc_bytes bounds every streamed document; Info counts the spools ----

def text_messages(cls, spec, data, piece=64 << 10):
    yield cls(spec=spec)
    for i in range(0, len(data), piece):
        yield cls(chunk=lanes_pb2.Chunk(arrays=[data[i:i + piece]]))


@pytest.mark.parametrize("method,cls,spec", [
    (WORDACF, lanes_pb2.WordAcfRequest, lanes_pb2.WordAcfSpec(timesteps=4)),
    (WORDCOUNT, lanes_pb2.WordCountRequest, lanes_pb2.WordCountSpec()),
])
def test_max_doc_bytes_bounds_a_streamed_text(start_daemon, method, cls, spec):
    d = start_daemon("--max-doc-bytes", "200KiB")
    limit = 200 << 10
    ch = grpc.insecure_channel(d.address)
    fits = b"the cat sat on the mat " * (limit // 23)
    over = fits + b"one more word " * 1000
    call = stream_unary if method == WORDACF else stream
    code, details, _ = call(ch, method, text_messages(cls, spec, fits))
    assert code == grpc.StatusCode.OK, details
    code, details, _ = call(ch, method, text_messages(cls, spec, over))
    assert code == grpc.StatusCode.INVALID_ARGUMENT, (code, details)
    assert f"larger than the maximum of {limit} bytes (max_doc_bytes)" in details, details
    # Refused with the chunk that passed the bound (chunk 3 of 64 KiB pieces), before it was counted.
    assert f"chunk 3 brings it to {min(4 * (64 << 10), len(over))} bytes" in details, details
    # The one-message twin is bounded too.
    once = (WORDACF_ONCE, lanes_pb2.WordAcfCall) if method == WORDACF else (WORDCOUNT_ONCE, lanes_pb2.WordCountCall)
    code, details, _ = unary(ch, once[0], once[1](spec=spec, chunk=lanes_pb2.Chunk(arrays=[over])))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "(max_doc_bytes)" in details, (code, details)
    ch.close()
    assert info_memory(d.address)["max_doc_bytes"] == limit
    assert d.stop() == 0


def test_info_counts_the_memory_of_an_open_word_acf_spool(start_daemon):
    """A WordAcf text held in the daemon's spool (a memfd) shows in Info's spool_bytes and memory_bytes
    while the call is open, and is gone once it ends."""
    d = start_daemon()
    size = 8 << 20
    data = (b"alpha beta gamma delta " * (size // 23 + 1))[:size]
    idle = info_memory(d.address)
    assert idle["spool_bytes"] == 0 and idle["spools"] == 0
    assert idle["rss_bytes"] > 0
    assert idle["memory_bytes"] == idle["rss_bytes"] + idle["spool_bytes"]

    # The stream sends the whole text, then waits (without half-closing) until the test has looked.
    sent, looked = threading.Event(), threading.Event()

    def messages():
        yield lanes_pb2.WordAcfRequest(spec=lanes_pb2.WordAcfSpec(timesteps=4))
        for i in range(0, size, 1 << 20):
            yield lanes_pb2.WordAcfRequest(chunk=lanes_pb2.Chunk(arrays=[data[i:i + (1 << 20)]]))
        sent.set()
        looked.wait(120)

    ch = grpc.insecure_channel(d.address)
    result = {}
    t = threading.Thread(target=lambda: result.update(r=stream_unary(ch, WORDACF, messages())))
    t.start()
    try:
        assert sent.wait(120)
        deadline = time.monotonic() + 120  # a hang guard only: the daemon spools what it received
        while True:
            info = info_memory(d.address)
            spool = info["spool_bytes"]
            if spool >= size or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert size <= spool < size + (1 << 20), info
        assert info["spools"] == 1
        assert info["memory_bytes"] == info["rss_bytes"] + spool
    finally:
        looked.set()
        t.join(120)
        ch.close()
    code, details, reply = result["r"]
    assert code == grpc.StatusCode.OK, details
    r = lanes_pb2.WordAcfResponse.FromString(reply)
    assert r.total_words == len(data.split())
    after = info_memory(d.address)
    assert after["spool_bytes"] == 0 and after["spools"] == 0, after
    assert d.stop() == 0


# ---- 3. a NUL byte in any string field of a request is refused, naming the field ----

GEN = lanes_pb2.Generated
NUL_CASES = [
    # (method, request, field named in the message)
    (MAP_ONCE, lanes_pb2.MapCall(spec=lanes_pb2.MapSpec(function="square\0cube", input_dtypes=[F64])),
     "MapSpec.function"),
    (MAP_ONCE, lanes_pb2.MapCall(spec=lanes_pb2.MapSpec(function="x\0+1", input_dtypes=[F64])), "MapSpec.function"),
    (MAP_ONCE, lanes_pb2.MapCall(spec=lanes_pb2.MapSpec(function="a*x", input_dtypes=[F64],
                                                         params={"a\0b": 2.0})), "MapSpec.params[0].key"),
    (MAP_ONCE, lanes_pb2.MapCall(spec=lanes_pb2.MapSpec(function="x+y", input_dtypes=[F64, F64],
                                                         input_names=["x", "y\0z"])), "MapSpec.input_names[1]"),
    (MAP_ONCE, lanes_pb2.MapCall(spec=lanes_pb2.MapSpec(function="u", n=10, generated=[
        GEN(name="v", kind=GEN.UNIFORM), GEN(name="u\0v", kind=GEN.UNIFORM)])), "MapSpec.generated[1].name"),
    (REDUCE_ONCE, lanes_pb2.ReduceCall(spec=lanes_pb2.ReduceSpec(op="sum\0max", dtype=F64)), "ReduceSpec.op"),
    (REDUCE_ONCE, lanes_pb2.ReduceCall(spec=lanes_pb2.ReduceSpec(op="sum", expr="x\0+1", input_dtypes=[F64])),
     "ReduceSpec.expr"),
    (REDUCE_ONCE, lanes_pb2.ReduceCall(spec=lanes_pb2.ReduceSpec(op="sum", expr="x*a", input_dtypes=[F64],
                                                                 params={"a\0": 1.0})), "ReduceSpec.params[0].key"),
    (REDUCE_ONCE, lanes_pb2.ReduceCall(spec=lanes_pb2.ReduceSpec(op="sum", expr="q", input_dtypes=[F64],
                                                                 input_names=["q\0"])), "ReduceSpec.input_names[0]"),
    (REDUCE_ONCE, lanes_pb2.ReduceCall(spec=lanes_pb2.ReduceSpec(op="sum", expr="u", n=5, generated=[
        GEN(name="u\0", kind=GEN.UNIFORM)])), "ReduceSpec.generated[0].name"),
]


@pytest.mark.parametrize("method,request_,field", NUL_CASES, ids=[f"{c[2]}-{i}" for i, c in enumerate(NUL_CASES)])
def test_a_nul_byte_in_a_name_or_expression_is_refused_naming_the_field(daemon, method, request_, field):
    with grpc.insecure_channel(daemon.address) as ch:
        code, details, _ = unary(ch, method, request_)
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (code, details)
        assert details.startswith(f"{field} holds a NUL byte (U+0000)"), details
        # The streamed twin refuses it the same way.
        streamed = {MAP_ONCE: (MAP, lanes_pb2.MapRequest), REDUCE_ONCE: (REDUCE, lanes_pb2.ReduceRequest)}[method]
        call = stream if method == MAP_ONCE else stream_unary
        code, details, _ = call(ch, streamed[0], [streamed[1](spec=request_.spec)])
        assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith(f"{field} holds a NUL"), details


def test_the_nul_check_leaves_good_names_alone_and_the_values_right(daemon):
    x = np.arange(10.0)
    with grpc.insecure_channel(daemon.address) as ch:
        # The cut names would have run as "sum" and "x": the full names give other answers.
        code, details, reply = unary(ch, REDUCE_ONCE, lanes_pb2.ReduceCall(
            spec=lanes_pb2.ReduceSpec(op="max", dtype=F64), chunk=lanes_pb2.Chunk(arrays=[x.tobytes()])))
        assert code == grpc.StatusCode.OK and lanes_pb2.ReduceResponse.FromString(reply).value == 9.0
        code, details, reply = unary(ch, MAP_ONCE, lanes_pb2.MapCall(
            spec=lanes_pb2.MapSpec(function="x+1", input_dtypes=[F64], params={"a": 1.0}),
            chunk=lanes_pb2.Chunk(arrays=[x.tobytes()])))
        assert code == grpc.StatusCode.OK, details
        got = np.frombuffer(b"".join(lanes_pb2.MapResult.FromString(reply).chunk.arrays), dtype=np.float64)
        np.testing.assert_array_equal(got, x + 1)


def test_a_nul_byte_in_a_corpus_document_name_is_refused(daemon):
    with grpc.insecure_channel(daemon.address) as ch:
        msgs = [lanes_pb2.CorpusRequest(spec=lanes_pb2.CorpusSpec(word_count=True)),
                lanes_pb2.CorpusRequest(doc=lanes_pb2.DocPiece(name="a.txt\0b.txt", data=b"some words", last=True))]
        code, details, _ = stream(ch, CORPUS, msgs)
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (code, details)
        assert "DocPiece.name holds a NUL byte (U+0000)" in details, details


def test_every_string_field_of_every_request_is_checked():
    """Lists the string fields reachable from each request message of lanes.v1 and checks that the
    cases above (and the corpus one) cover each: a new string field needs a case here."""
    covered = {re.sub(r"\[\d+\]", "", c[2]) for c in NUL_CASES} | {"DocPiece.name"}
    found = set()

    def walk(desc, path):
        for f in desc.fields:
            if f.type == f.TYPE_STRING:
                found.add(f"{path}.{f.name}")
            elif f.type == f.TYPE_MESSAGE:
                walk(f.message_type, f"{path}.{f.name}")

    for m in lanes_pb2.DESCRIPTOR.services_by_name["Lanes"].methods:
        for f in m.input_type.fields:  # spec, chunk, doc: the messages a request carries
            if f.type == f.TYPE_MESSAGE:
                walk(f.message_type, f.message_type.name)
    assert found == covered, (found - covered, covered - found)
