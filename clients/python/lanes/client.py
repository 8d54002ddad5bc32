"""The lanes client: map, reduce, ACF and the word-count jobs on a lanesd daemon, in bounded memory.

Design: arrays travel as little-endian bytes in chunks of about `chunk_bytes` (1 MiB by default, never
over 4 MiB, so stock gRPC limits hold for any job size); the first message of a call carries the job
spec. Map is a bidirectional stream: request messages are produced lazily by a generator, results are
written into the output array as they arrive. The iterator forms (`map_iter`, `reduce_iter`) take
chunks from any iterable and yield results chunk by chunk, so neither side ever holds the whole job.
A job that fits one message (map, reduce, acf, word_count, word_acf) takes the unary twin (MapOnce,
ReduceOnce, AcfOnce, WordCountOnce, WordAcfOnce): one
round trip, no streaming threads. Text jobs (word_count, word_acf, corpus) stream a file's bytes in
chunks read as gRPC asks for them; corpus keeps sending documents while their results come back, and
an exception raised while reading a source ends the requests and is raised again in the caller's thread.
Every job but corpus runs through one path, Client._job: the unary twin for a job that fits one message,
else the stream (the spec, then chunks). One guard, _rpc_errors, wraps every call: each gRPC error
becomes a `lanes.Error` subclass carrying the status code and the server's message, and every check
the client makes itself (dtypes, shapes, argument types and ranges, paths) raises
one too, with a message naming the argument (see errors.py). Exceptions raised by the caller's own
objects (a chunk iterable, a file object's read()) other than OSError pass through unchanged.
Summaries and Info come back as plain dicts whose counts are ints and whose times are floats.
"""
import collections
import contextlib
import itertools
import operator
import os

import grpc
import numpy as np
from google.protobuf.descriptor import FieldDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc

from . import errors
from . import text as _text
from .text import DocResult, WordAcfResult, WordCountResult
from .v1 import lanes_pb2, lanes_pb2_grpc

DEFAULT_ADDRESS = "127.0.0.1:50051"
DEFAULT_CHUNK_BYTES = 1 << 20
MAX_MESSAGE_BYTES = 4 << 20

_DTYPES = {
    np.dtype("<f8"): lanes_pb2.FLOAT64,
    np.dtype("<f4"): lanes_pb2.FLOAT32,
    np.dtype("<i8"): lanes_pb2.INT64,
    np.dtype("<i4"): lanes_pb2.INT32,
}
_NUMPY = {v: k for k, v in _DTYPES.items()}

# The daemon's registry names (Info's backends); _backend() also takes "_" for "-" and any case.
_BACKENDS = {
    None: lanes_pb2.BACKEND_AUTO, "auto": lanes_pb2.BACKEND_AUTO, "inline": lanes_pb2.BACKEND_INLINE,
    "cpu": lanes_pb2.BACKEND_CPU, "process-pool": lanes_pb2.BACKEND_PROCESS_POOL, "cuda": lanes_pb2.BACKEND_CUDA,
}

# What wire_dtype() accepts, in the words of its errors and of the README.
ACCEPTED_DTYPES = ("bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float16, float32, float64 "
                   "and longdouble, either byte order")


def _int_arg(name, v, lo=0, hi=2**32 - 1):
    """v as an int in [lo, hi] (an int, a numpy integer or an integral float), else InvalidArgument
    naming `name`."""
    try:
        if isinstance(v, bool):
            raise TypeError
        i = operator.index(v)
    except TypeError:
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            i = int(v)
        else:
            raise errors.InvalidArgument(f"{name} must be an integer, not {v!r}") from None
    if not lo <= i <= hi:
        raise errors.InvalidArgument(f"{name} must be between {lo} and {hi}, got {i}")
    return i


def _float_arg(name, v):
    """v as a float (a real number: complex values are refused, not cut to their real part), else
    InvalidArgument naming `name`."""
    if isinstance(v, (complex, np.complexfloating)) or isinstance(v, (str, bytes)):
        raise errors.InvalidArgument(f"{name} must be a real number, not {v!r}")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise errors.InvalidArgument(f"{name} must be a real number, not {v!r}") from None


def _str_arg(name, v):
    if not isinstance(v, str):
        raise errors.InvalidArgument(f"{name} must be a str, not {type(v).__name__}")
    return v


def _choice(name, v, choices):
    if not isinstance(v, str) or v not in choices:
        raise errors.InvalidArgument(f"unknown {name} {v!r} ({', '.join(choices)})")
    return choices[v]


class Generated:
    """An input the daemon generates itself, so no bytes are sent for it (see uniform, normal, range).

    Element k of the job gets: range: start + step*k; uniform: a uniform [0, 1) value and normal: a
    standard normal value from the seeded counter-based Philox4x32-10 stream, the same for element k
    whatever the chunking, thread count or backend.
    """

    __slots__ = ("kind", "seed", "start", "step")

    def __init__(self, kind, seed=0, start=0.0, step=1.0):
        self.kind, self.seed = kind, _int_arg("seed", seed, 0, 2**64 - 1)
        self.start, self.step = _float_arg("start", start), _float_arg("step", step)

    def __repr__(self):
        if self.kind == lanes_pb2.Generated.RANGE:
            return f"lanes.range(start={self.start}, step={self.step})"
        name = "uniform" if self.kind == lanes_pb2.Generated.UNIFORM else "normal"
        return f"lanes.{name}(seed={self.seed})"

    def _proto(self, name):
        return lanes_pb2.Generated(name=name, kind=self.kind, seed=self.seed, start=self.start, step=self.step)


def uniform(seed=0):
    """A generated input of uniform [0, 1) values from Philox stream `seed` (53 random bits each;
    seed in [0, 2**64))."""
    return Generated(lanes_pb2.Generated.UNIFORM, seed=seed)


def normal(seed=0):
    """A generated input of standard normal values (Box-Muller on Philox stream `seed`)."""
    return Generated(lanes_pb2.Generated.NORMAL, seed=seed)


def range_(start=0.0, step=1.0):
    """A generated input start + step*k for element k (numpy.arange without sending it)."""
    return Generated(lanes_pb2.Generated.RANGE, start=start, step=step)


_DEFAULT_NAMES = ("x", "y", "z", "w", "v", "s", "t", "r")


def _split_inputs(positional, named, count_allowed):
    """Sorts a call's inputs: positional arrays (named x, y, z, ...), keyword arrays, generated inputs
    and scalar parameters. Returns (names, arrays, generated {name: Generated}, params, n) where n is
    the element count when nothing is streamed (the keyword n, then not a parameter)."""
    names, arrays, generated, params = [], [], {}, {}
    for i, a in enumerate(positional):
        if isinstance(a, Generated):
            raise errors.InvalidArgument("give a generated input a name: map(expr, u=lanes.uniform(1))")
        names.append(_DEFAULT_NAMES[i] if i < len(_DEFAULT_NAMES) else f"x{i}")
        arrays.append(a)
    for k, v in named.items():
        if k in names:
            raise errors.InvalidArgument(f"input {k!r} given twice (positional inputs are named {', '.join(names)})")
        if isinstance(v, Generated):
            generated[k] = v
        elif np.ndim(v) == 0 and not isinstance(v, (list, tuple, np.ndarray)):
            params[k] = _float_arg(f"parameter {k}", v)
        else:
            names.append(k)
            arrays.append(v)
    n = None
    if not arrays and count_allowed:
        if "n" not in params:
            raise errors.InvalidArgument("a job whose inputs are all generated needs its length: n=...")
        n = _int_arg("n", params.pop("n"), 0, 2**64 - 1)
    return names, arrays, generated, params, n


def wire_dtype(dtype, what="input"):
    """The dtype an input of `dtype` travels as: float64, float32, int64 or int32 (little-endian).

    Accepted: bool, int8 .. int64, uint8 .. uint64, float16 .. float64 and longdouble, in either byte
    order. float16 becomes float32; longdouble becomes float64; bool and integers of at most 32 bits
    with a sign, or 16 without, become int32; uint32 becomes int64; uint64 becomes float64 (lanes
    computes in float64 anyway). Anything else (complex, object, str, bytes, datetime, timedelta,
    structured) raises lanes.InvalidArgument naming `what`.
    """
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError) as e:
        raise errors.InvalidArgument(f"{what}: {dtype!r} is not a dtype ({e})") from None
    if dt.kind == "f":
        if dt.itemsize == 8:
            return np.dtype("<f8")
        if dt.itemsize <= 4:
            return np.dtype("<f4")
        return np.dtype("<f8")
    if dt.kind == "b":
        return np.dtype("<i4")
    if dt.kind == "i":
        return np.dtype("<i8") if dt.itemsize == 8 else np.dtype("<i4")
    if dt.kind == "u":
        if dt.itemsize <= 2:
            return np.dtype("<i4")
        if dt.itemsize == 4:
            return np.dtype("<i8")
        return np.dtype("<f8")
    raise errors.InvalidArgument(f"{what}: lanes cannot send arrays of dtype {dt}; it accepts {ACCEPTED_DTYPES}")


def _as_array(a, what):
    """np.asarray(a), with numpy's complaints (a ragged list) as InvalidArgument naming `what`."""
    if isinstance(a, Generated):
        raise errors.InvalidArgument(f"{what}: a generated input goes by name: u=lanes.uniform(1)")
    try:
        return np.asarray(a)
    except (TypeError, ValueError) as e:
        raise errors.InvalidArgument(f"{what} is not an array of numbers: {e}") from None


def _as_wire(a, what="input"):
    """A C-contiguous little-endian array of a wire dtype holding a's values (no copy when possible)."""
    a = _as_array(a, what)
    return np.ascontiguousarray(a, dtype=wire_dtype(a.dtype, what))


def _broadcast(names, arrays):
    """The wire arrays of named inputs, broadcast together (InvalidArgument naming their shapes when
    they do not broadcast)."""
    wire = [_as_wire(a, f"input {n}") for n, a in zip(names, arrays)]
    try:
        return np.broadcast_arrays(*wire)
    except ValueError:
        shapes = ", ".join(f"{n} {a.shape}" for n, a in zip(names, wire))
        raise errors.InvalidArgument(f"the inputs' shapes do not broadcast together: {shapes}") from None


def _chunk_elements(itemsizes, chunk_bytes):
    return max(1, chunk_bytes // max(1, sum(itemsizes)))


class Client:
    """A connection to a lanesd daemon.

    Args:
        address: "host:port" of the daemon (default 127.0.0.1:50051).
        timeout: default deadline in seconds for every call (None: no deadline).
        chunk_bytes: payload per request message (default 1 MiB; at most 4 MiB).

    Use as a context manager, or call close(). A Client may be shared by threads; `last_summary` then
    holds the summary of whichever call finished last.
    """

    def __init__(self, address=DEFAULT_ADDRESS, *, timeout=None, chunk_bytes=DEFAULT_CHUNK_BYTES):
        self.address = _str_arg("address", address)
        self.timeout = _check_timeout(timeout)
        self.chunk_bytes = _int_arg("chunk_bytes", chunk_bytes, 1, MAX_MESSAGE_BYTES - 1024)
        self._channel = grpc.insecure_channel(address)
        self._lanes = lanes_pb2_grpc.LanesStub(self._channel)
        self._health_stub = health_pb2_grpc.HealthStub(self._channel)
        self._closed = False
        self._last_summary = None

    @property
    def _stub(self):
        if self._closed:
            raise errors.FailedPrecondition("this lanes.Client is closed; make a new one")
        return self._lanes

    @property
    def _health(self):
        if self._closed:
            raise errors.FailedPrecondition("this lanes.Client is closed; make a new one")
        return self._health_stub

    @property
    def last_summary(self):
        """The JobSummary of the last call (map, reduce, acf, word_count, word_acf, corpus) as a dict,
        or None before the first: backend and reason (str); elements, chunks, bytes_in, bytes_out and
        threads (int); queued_seconds, compute_seconds and stream_seconds (float)."""
        s = self._last_summary
        return None if s is None else _summary(s)

    def close(self):
        """Closes the channel. The client cannot be used afterwards (a call raises FailedPrecondition)."""
        self._closed = True
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _timeout(self, timeout):
        return self.timeout if timeout is None else _check_timeout(timeout)

    # ---- the one path of every job: once or streamed ----

    def _job(self, name, spec, timeout, whole=None, chunks=()):
        """Runs job `name` (a key of _CALLS) with `spec`, once or streamed, under _rpc_errors.

        whole (the input fits one message: the bytes arrays of its one chunk, [] for none): one unary
        call of the job's twin (XOnce, an XCall of spec and chunk); returns its reply. Otherwise the
        job's stream (X) gets the spec, then a Chunk per tuple of bytes arrays of `chunks`, which is read
        lazily in gRPC's request thread (_guarded: an exception there ends the requests and is raised in
        the caller's thread once the call is over). Returns the stream's reply: its one response for a
        client stream (Reduce, WordAcf), else an iterator over the responses (Map, Acf, WordCount) that
        cancels the call when left early.
        """
        once, call_cls, request_cls, streamed = _CALLS[name]
        if whole is not None:
            req = call_cls(spec=spec)
            if whole:
                req.chunk.arrays.extend(whole)
            with _rpc_errors():
                return getattr(self._stub, once)(req, timeout=self._timeout(timeout))
        failure = []

        def requests():
            yield request_cls(spec=spec)
            for arrays in _guarded(chunks, failure):
                m = request_cls()  # filled in place: a Chunk passed to the constructor is copied again
                m.chunk.arrays.extend(arrays)
                yield m

        stub = getattr(self._stub, name)
        if streamed:
            return self._responses(stub, requests(), failure, timeout)
        with _rpc_errors(failure):
            return stub(requests(), timeout=self._timeout(timeout))

    def _responses(self, stub, requests, failure, timeout):
        """The responses of a bidirectional stream, as they arrive; stops at a request source's failure
        (raised by the guard) and cancels the call when it ends or the caller stops early."""
        call = None
        with _rpc_errors(failure):
            try:
                call = stub(requests, timeout=self._timeout(timeout))
                for r in call:
                    if failure:
                        break
                    yield r
            finally:
                if call is not None:
                    call.cancel()  # no-op once the call ended; stops the stream if the caller stopped early

    # ---- Info and health ----

    def info(self, *, timeout=None):
        """The daemon's version, backends, devices, thread counts and limits, as a dict (counts and
        sizes are ints, uptime_seconds a float)."""
        with _rpc_errors():
            r = self._stub.Info(lanes_pb2.InfoRequest(), timeout=self._timeout(timeout))
        return _message_dict(r)

    def health(self, service="", *, timeout=None):
        """The serving status of `service` ("" for the whole daemon): "SERVING" or "NOT_SERVING"."""
        req = health_pb2.HealthCheckRequest(service=_str_arg("service", service))
        with _rpc_errors():
            r = self._health.Check(req, timeout=self._timeout(timeout))
        return health_pb2.HealthCheckResponse.ServingStatus.Name(r.status)

    # ---- Map ----

    def map(self, fn, *arrays, out_dtype="float64", backend=None, timeout=None, **inputs):
        """Applies a named function or an expression elementwise and returns the result.

        Args:
            fn: a named function (square, cube, power, sqrt, exp, log, abs, sin, cos, affine) or an
                expression: "x**2 + y**2", "where(x > 0, log(x), 0)", "sin(x)*exp(-x)" (the language
                of lanes/expr.h: + - * / % **, comparisons, and/or/not, where(), the usual functions,
                pi, e and the element index i).
            *arrays: input arrays, named x, y, z, ... in the expression (for named functions: one
                input, or two for power(x, y)); broadcast together, the result has their shape.
            out_dtype: "float64" (default) or "float32".
            backend: None/"auto", or "inline", "cpu" or "cuda" to force where it runs.
            **inputs: keyword arrays are inputs by that name; lanes.uniform(seed), lanes.normal(seed)
                and lanes.range(start, step) are inputs the daemon generates; scalars are parameters
                (n for power, a and b for affine, any name in an expression). When no array is sent,
                n= gives the number of elements.

        Returns:
            numpy.ndarray of out_dtype, element k computed from element k of each input.

        Input dtypes: see wire_dtype() (bool, int8 .. int64, uint8 .. uint64, float16 .. float64,
        longdouble; complex, object, str and datetime arrays are refused).

        Raises:
            lanes.InvalidArgument for an unknown function or name, a syntax error (with its column),
            a missing or unknown parameter, a dtype lanes does not take, inputs that do not
            broadcast, and so on.
        """
        _str_arg("fn", fn)
        names, arrs, generated, params, n = _split_inputs(arrays, inputs, count_allowed=True)
        if not arrs and not generated:
            raise errors.InvalidArgument("map() needs at least one input array or generated input")
        explicit_names = bool(generated) or len(names) > len(arrays)
        arrs = _broadcast(names, arrs) if arrs else []
        shape = arrs[0].shape if arrs else (n,)
        flat = [np.ascontiguousarray(a).reshape(-1) for a in arrs]
        size = flat[0].size if flat else n
        spec, out_np = self._map_spec(fn, [a.dtype for a in flat], out_dtype, backend, params)
        if explicit_names:
            spec.input_names.extend(names)
        spec.generated.extend(g._proto(k) for k, g in generated.items())
        if not flat:
            spec.n = n
        if sum(a.nbytes for a in flat) <= self.chunk_bytes and size * out_np.itemsize <= self.chunk_bytes:
            return self._map_once(spec, flat, out_np, timeout).reshape(shape)
        out = np.empty(size, dtype=out_np)
        per = _chunk_elements([a.itemsize for a in flat], self.chunk_bytes) if flat else 0
        chunks = (tuple(a[i:i + per] for a in flat) for i in range(0, size, per)) if flat else iter(())
        pos = 0
        for part in self._map_stream(spec, out_np, chunks, timeout):
            out[pos:pos + part.size] = part
            pos += part.size
        if pos != out.size:
            raise errors.Internal(f"the daemon returned {pos} elements for {out.size} inputs")
        return out.reshape(shape)

    def map_iter(self, fn, chunks, *, dtypes=None, out_dtype="float64", backend=None, timeout=None, **params):
        """Streams chunks through `fn` and yields result arrays as they arrive, with bounded memory.

        Args:
            chunks: an iterable of arrays (one input) or of tuples of equal-length arrays (several
                inputs). Chunks are split further to at most chunk_bytes per message.
            dtypes: the input dtypes; by default taken from the first chunk. Later chunks are
                converted within their kind (float64 to float32, int to float, ...); a chunk that
                would lose its kind (floats into an integer stream, complex) is InvalidArgument.
            Other arguments as map().

        Yields:
            1-D numpy arrays of out_dtype; concatenated, they are the map of the concatenated inputs.
        """
        _str_arg("fn", fn)
        it = _iterate(chunks, "chunks")
        try:
            first = next(it)
        except StopIteration:
            first = None
        if dtypes is not None and (isinstance(dtypes, (str, np.dtype, type)) or not hasattr(dtypes, "__iter__")):
            dtypes = [dtypes]
        if first is None:
            if dtypes is None:
                raise errors.InvalidArgument("map_iter() on no chunks needs dtypes=")
            wire = [wire_dtype(d, f"dtypes[{i}]") for i, d in enumerate(dtypes)]
            stream = iter(())
        else:
            first_t = first if isinstance(first, tuple) else (first,)
            wire = ([wire_dtype(d, f"dtypes[{i}]") for i, d in enumerate(dtypes)] if dtypes else
                    [wire_dtype(_as_array(a, f"chunk 0 array {k}").dtype, f"chunk 0 array {k}")
                     for k, a in enumerate(first_t)])
            stream = self._split(itertools.chain([first], it), wire)
        spec, out_np = self._map_spec(fn, wire, out_dtype, backend, params)
        yield from self._map_stream(spec, out_np, stream, timeout)

    def _split(self, chunks, wire):
        """Converts user chunks to tuples of wire arrays of at most chunk_bytes together; a chunk of
        the wrong arity, of unequal lengths or of a dtype that does not cast within its kind to the
        stream's raises InvalidArgument naming the chunk."""
        per = _chunk_elements([d.itemsize for d in wire], self.chunk_bytes)
        for j, c in enumerate(chunks):
            c = c if isinstance(c, tuple) else (c,)
            if len(c) != len(wire):
                raise errors.InvalidArgument(f"chunk {j} has {len(c)} arrays, the job has {len(wire)} inputs")
            arrs = []
            for k, (a, d) in enumerate(zip(c, wire)):
                what = f"chunk {j}" + (f" array {k}" if len(wire) > 1 else "")
                a = _as_array(a, what)
                src = wire_dtype(a.dtype, what)
                if not np.can_cast(src, d, casting="same_kind"):
                    raise errors.InvalidArgument(f"{what} has dtype {a.dtype}, which does not convert to the "
                                                 f"stream's {d.name} without losing its kind; give dtypes=")
                arrs.append(np.ascontiguousarray(a.reshape(-1), dtype=d))
            n = arrs[0].size
            if any(a.size != n for a in arrs):
                sizes = ", ".join(str(a.size) for a in arrs)
                raise errors.InvalidArgument(f"the arrays of chunk {j} must have equal lengths, got {sizes}")
            for i in range(0, n, per):
                yield tuple(a[i:i + per] for a in arrs)

    def _map_spec(self, fn, wire_dtypes, out_dtype, backend, params):
        try:
            out_dt = np.dtype(out_dtype)
        except (TypeError, ValueError):
            out_dt = None
        if out_dt not in (np.dtype("f8"), np.dtype("f4")):
            raise errors.InvalidArgument(f"out_dtype must be float64 or float32, got {out_dtype!r}")
        spec = lanes_pb2.MapSpec(function=fn, input_dtypes=[_DTYPES[np.dtype(d)] for d in wire_dtypes],
                                 output_dtype=_DTYPES[out_dt.newbyteorder("<")], backend=_backend(backend),
                                 params={k: _float_arg(f"parameter {k}", v) for k, v in params.items()})
        return spec, out_dt.newbyteorder("<")

    def _map_once(self, spec, flat, out_np, timeout):
        """A job that fits one message: one unary MapOnce round trip instead of a stream."""
        r = self._job("Map", spec, timeout, whole=[a.tobytes() for a in flat] if flat and flat[0].size else [])
        self._last_summary = r.summary
        parts = [np.frombuffer(p, dtype=out_np) for p in r.chunk.arrays]
        return np.concatenate(parts) if parts else np.empty(0, dtype=out_np)

    def _map_stream(self, spec, out_np, chunks, timeout):
        for r in self._job("Map", spec, timeout, chunks=(tuple(a.tobytes() for a in c) for c in chunks)):
            if r.HasField("summary"):
                self._last_summary = r.summary
                continue
            yield np.frombuffer(r.chunk.arrays[0], dtype=out_np)

    # ---- Reduce ----

    def reduce(self, op, x=None, *, expr=None, ddof=0, bins=10, range=None, backend=None, timeout=None,
               **inputs):
        """Reduces the array x (all elements, flattened), or the values of an expression, with `op`.

        Args:
            op: sum, min, max, mean, var, std, count, argmin, argmax or histogram.
            x: the array to reduce (named x in expr when expr is given).
            expr: optional expression evaluated elementwise before the reduction, without
                materialising its values: reduce("sum", x, expr="x*x"), reduce("max", expr="abs(x - y)",
                x=a, y=b), reduce("mean", expr="4*(u*u + v*v < 1)", u=lanes.uniform(1),
                v=lanes.uniform(2), n=10**9) (Monte-Carlo pi, nothing sent but the spec).
            ddof: delta degrees of freedom for var and std (numpy's ddof).
            bins, range: for histogram, as numpy.histogram (range defaults to (x.min(), x.max()) for
                a plain array; give it with expr).
            backend: None/"auto", or "inline", "cpu" or "cuda" to force one.
            **inputs: with expr, keyword arrays, generated inputs (lanes.uniform/normal/range) and
                scalar parameters, as in map(); n= is the length when every input is generated.

        Returns:
            A numpy scalar of the type numpy would give (int64 for integer sums, count, argmin and
            argmax; the input's dtype for min and max; float64 otherwise and for expressions), or for
            histogram a tuple (counts int64 array, bin edges array) like numpy.histogram.
        """
        _str_arg("op", op)
        if expr is None:
            if inputs:
                raise errors.InvalidArgument(f"reduce() got {', '.join(inputs)}: keyword inputs go with expr=")
            if x is None:
                raise errors.InvalidArgument("reduce() needs an array x (or expr= with its inputs)")
            return self._reduce_array(op, x, ddof, bins, range, backend, timeout)
        _str_arg("expr", expr)
        names, arrs, generated, params, n = _split_inputs([] if x is None else [x], inputs, count_allowed=True)
        if op == "histogram" and range is None:
            raise errors.InvalidArgument("histogram of an expression needs range=(lo, hi)")
        arrs = _broadcast(names, arrs) if arrs else []
        flat = [np.ascontiguousarray(a).reshape(-1) for a in arrs]
        spec = self._reduce_spec(op, np.float64, ddof, bins, range, backend)
        spec.ClearField("dtype")
        spec.expr = expr
        spec.input_dtypes.extend(_DTYPES[a.dtype] for a in flat)
        if generated or len(names) > (0 if x is None else 1):
            spec.input_names.extend(names)
        spec.generated.extend(g._proto(k) for k, g in generated.items())
        for k, v in params.items():
            spec.params[k] = v
        if not flat:
            spec.n = n
            return self._reduce_call(spec, np.float64, [], timeout)
        size = flat[0].size
        if sum(a.nbytes for a in flat) <= self.chunk_bytes:
            return self._reduce_call(spec, np.float64, flat, timeout)
        per = _chunk_elements([a.itemsize for a in flat], self.chunk_bytes)
        chunks = (tuple(a[i:i + per] for a in flat) for i in builtin_range(0, size, per))
        return self._reduce_stream(spec, np.float64, chunks, timeout)

    def _reduce_array(self, op, x, ddof, bins, range, backend, timeout):
        x = _as_wire(x, "x").reshape(-1)
        spec = self._reduce_spec(op, x.dtype, ddof, bins, range if range is not None or op != "histogram"
                                 else _auto_range(x), backend)
        spec.range_from_data = op == "histogram" and range is None
        if x.nbytes <= self.chunk_bytes:
            return self._reduce_call(spec, x.dtype, [x], timeout)
        per = _chunk_elements([x.itemsize], self.chunk_bytes)
        chunks = ((x[i:i + per],) for i in builtin_range(0, x.size, per))
        return self._reduce_stream(spec, x.dtype, chunks, timeout)

    def _reduce_call(self, spec, dtype, flat, timeout):
        """A job that fits one message: one unary ReduceOnce round trip."""
        r = self._job("Reduce", spec, timeout, whole=[a.tobytes() for a in flat] if flat and flat[0].size else [])
        return self._reduce_result(spec.op, dtype, r)

    def reduce_iter(self, op, chunks, *, dtype=None, ddof=0, bins=10, range=None, backend=None, timeout=None):
        """Reduces a stream of chunks (any iterable of arrays) without holding them all.

        dtype defaults to the first chunk's; histogram needs an explicit range here. Other arguments and
        the result as reduce().
        """
        _str_arg("op", op)
        it = _iterate(chunks, "chunks")
        first = next(it, None)
        if first is None and dtype is None:
            raise errors.InvalidArgument("reduce_iter() on no chunks needs dtype=")
        wire = (wire_dtype(dtype, "dtype") if dtype is not None else
                wire_dtype(_as_array(first, "chunk 0").dtype, "chunk 0"))
        if op == "histogram" and range is None:
            raise errors.InvalidArgument("histogram over a stream needs range=(lo, hi): the input is read once")
        body = itertools.chain([first], it) if first is not None else iter(())
        parts = self._split(body, [wire])
        return self._reduce_stream(self._reduce_spec(op, wire, ddof, bins, range, backend), wire, parts, timeout)

    @staticmethod
    def _reduce_spec(op, dtype, ddof, bins, range, backend):
        spec = lanes_pb2.ReduceSpec(op=op, dtype=_DTYPES[np.dtype(dtype)], ddof=_float_arg("ddof", ddof),
                                    bins=_int_arg("bins", bins), backend=_backend(backend))
        if range is not None:
            try:
                lo, hi = range
            except (TypeError, ValueError):
                raise errors.InvalidArgument(f"range must be a pair (lo, hi), not {range!r}") from None
            spec.range.lo = _float_arg("range lo", lo)
            spec.range.hi = _float_arg("range hi", hi)
        return spec

    def _reduce_stream(self, spec, dtype, chunks, timeout):
        # tuples: one array per streamed input. A source that fails raises here, though the daemon
        # reduced what came before the failing chunk: that is not an answer.
        r = self._job("Reduce", spec, timeout, chunks=(tuple(a.tobytes() for a in c) for c in chunks))
        return self._reduce_result(spec.op, dtype, r)

    def _reduce_result(self, op, dtype, r):
        self._last_summary = r.summary
        if op == "histogram":
            counts = np.frombuffer(r.histogram_counts, dtype="<i8").copy()
            edges = np.frombuffer(r.histogram_edges, dtype="<f8").copy()
            if np.dtype(dtype) == np.dtype("<f4"):
                edges = edges.astype(np.float32)
            return counts, edges
        if r.dtype in (lanes_pb2.INT64, lanes_pb2.INT32):
            return _NUMPY[r.dtype].type(r.int_value)
        return _NUMPY[r.dtype].type(r.value)

    # ---- Acf ----

    def acf(self, x, nlags=None, adjusted=False, alpha=None, qstat=False, method="auto", *, n=None,
            backend=None, timeout=None):
        """Autocorrelation of a series, as statsmodels.tsa.stattools.acf (missing='none').

        Args:
            x: a 1-D array (any dtype wire_dtype() accepts: bool, ints, uints, floats), or an
                iterable of such chunks, streamed in order without holding the series (then give
                nlags, or n= for the default nlags).
            nlags: lags 0 .. nlags; default min(int(10*log10(n)), n - 1) as statsmodels.
            adjusted: divide lag k by n - k instead of n.
            alpha: if given (0 < alpha < 1), Bartlett confidence intervals at level 1 - alpha.
            qstat: also return the Ljung-Box Q statistics and their p-values.
            method: "auto" (direct for few lags, FFT for many), "direct" or "fft".
            n: the series length, for chunks (needed by the default nlags; checked by the daemon).

        Returns:
            acf (float64 array of nlags + 1 values), or statsmodels' tuples: (acf, confint) with alpha,
            (acf, qstat, pvalues) with qstat, (acf, confint, qstat, pvalues) with both; confint has
            shape (nlags + 1, 2), qstat and pvalues nlags values (lags 1 .. nlags).
            last_summary then holds the job's summary.

        Raises:
            lanes.InvalidArgument: nlags > n - 1, alpha outside (0, 1), an empty series, and so on.

        A series that fits one message goes in one unary AcfOnce call; longer ones stream on Acf.
        """
        if alpha is not None and not 0 < _float_arg("alpha", alpha) < 1:
            raise errors.InvalidArgument(f"alpha must be between 0 and 1 (exclusive), got {alpha}")
        methods = {"auto": lanes_pb2.AcfSpec.METHOD_AUTO, "direct": lanes_pb2.AcfSpec.DIRECT,
                   "fft": lanes_pb2.AcfSpec.FFT}
        spec = lanes_pb2.AcfSpec(adjusted=bool(adjusted), alpha=float(alpha or 0.0), qstat=bool(qstat),
                                 method=_choice("ACF method", method, methods), backend=_backend(backend))
        if nlags is not None:
            nlags = spec.nlags = _int_arg("nlags", nlags, 0, 2**63 - 1)
        if n is not None:
            n = _int_arg("n", n, 0, 2**64 - 1)
        if _is_array_like(x):
            a = _as_wire(x, "x")
            if a.ndim > 1 and a.size != max(a.shape):
                raise errors.InvalidArgument(f"acf() takes a 1-D series, got x of shape {a.shape}")
            a = a.reshape(-1)
            if n is not None and n != a.size:
                raise errors.InvalidArgument(f"n={n} but the series x has {a.size} values")
            spec.dtype = _DTYPES[a.dtype]
            spec.n = a.size
            lags = nlags if nlags is not None else (_default_nlags(a.size) if a.size > 1 else 0)
            if a.nbytes <= self.chunk_bytes and _acf_result_bytes(lags, alpha, qstat) <= MAX_MESSAGE_BYTES // 2:
                r = self._job("Acf", spec, timeout, whole=[a.tobytes()] if a.size else [])
                return self._acf_result(list(r.values), r.done, alpha, qstat)
            per = _chunk_elements([a.itemsize], self.chunk_bytes)
            chunks = ((a[i:i + per],) for i in builtin_range(0, a.size, per))
        else:
            it = _iterate(x, "x")
            first = next(it, None)
            if nlags is None and n is None:
                raise errors.InvalidArgument("acf() of chunks needs nlags= (or the length n= for the default)")
            wire = wire_dtype(_as_array(first, "chunk 0").dtype if first is not None else np.float64, "chunk 0")
            spec.dtype = _DTYPES[wire]
            if n is not None:
                spec.n = n
            chunks = self._split(itertools.chain([first], it) if first is not None else iter(()), [wire])
        return self._acf_stream(spec, chunks, alpha, qstat, timeout)

    def _acf_stream(self, spec, chunks, alpha, qstat, timeout):
        values, done = [], None
        for r in self._job("Acf", spec, timeout, chunks=((c[0].tobytes(),) for c in chunks)):
            if r.HasField("done"):
                done = r.done
            else:
                values.append(r.values)
        if done is None:
            raise errors.Internal("the Acf stream ended without its AcfDone message")
        return self._acf_result(values, done, alpha, qstat)

    def _acf_result(self, pieces, done, alpha, qstat):
        self._last_summary = done.summary
        fields = {"acf": [], "confint": [], "qstat": [], "pvalues": []}
        pos = 0
        for p in pieces:
            if p.offset != pos:
                raise errors.Internal(f"ACF piece at offset {p.offset}, expected {pos}")
            for k, parts in fields.items():
                parts.append(getattr(p, k))
            pos += len(p.acf) // 8
        out = {k: np.frombuffer(b"".join(parts), dtype="<f8").astype(np.float64) for k, parts in fields.items()}
        if out["acf"].size != done.nlags + 1:
            raise errors.Internal(f"the daemon sent {out['acf'].size} ACF values for nlags {done.nlags}")
        res = [out["acf"]]
        if alpha is not None:
            res.append(out["confint"].reshape(-1, 2))
        if qstat:
            res += [out["qstat"], out["pvalues"]]
        return res[0] if len(res) == 1 else tuple(res)

    # ---- Text: the word-count course's jobs ----

    def word_count(self, source=None, min_length=0, top=0, *, text=None, backend=None, timeout=None):
        """Counts the words of a text as the course's word count does.

        Args:
            source: where the text is: a path (a str or any os.PathLike: always a file, whose bytes are
                streamed in chunks, never read whole), bytes (UTF-8), or an open binary file.
            text: the text itself, as a str (instead of source).
            min_length: drop words shorter than this many characters (the course's filter).
            top: keep only the first top entries (0: all); the percentages still divide by the total.

        Returns:
            WordCountResult: .entries [(word, count, pct)] by count descending, ties by first
            occurrence; .total, .distinct, .summary; .write_dat(path) writes the course's .dat.

        Raises:
            lanes.FileNotFound (a FileNotFoundError) when the path names no file, lanes.FileError (an
            OSError) when it cannot be read; lanes.InvalidArgument when the text is not valid UTF-8
            (the message names the byte offset), for a source of another type, or for both or
            neither of source and text.
        """
        spec = lanes_pb2.WordCountSpec(min_length=_int_arg("min_length", min_length),
                                       top=_int_arg("top", top, 0, 2**64 - 1), backend=_backend(backend))
        opened = _open_text(source, text, "word_count")
        words, counts, done = [], [], None
        try:
            pieces, one = _one_piece(_text.text_chunks(opened, self.chunk_bytes, "word_count source"))
            if one is not None:
                # the whole text fits one message: one unary round trip
                r = self._job("WordCount", spec, timeout, whole=[one])
                for c in r.counts:
                    words.extend(c.words)
                    counts.extend(c.counts)
                done = r.done
            else:
                for r in self._job("WordCount", spec, timeout, chunks=((b,) for b in pieces)):
                    if r.HasField("done"):
                        done = r.done
                    else:
                        words.extend(r.counts.words)
                        counts.extend(r.counts.counts)
        finally:
            _close(opened)
        if done is None:
            raise errors.Internal("the WordCount stream ended without its WordCountDone message")
        self._last_summary = done.summary
        return WordCountResult(words, counts, done.total_words, done.distinct_words, _summary(done.summary))

    def word_acf(self, source=None, nwords=16, timesteps=100, mode="exact", min_length=0, *, text=None,
                 backend=None, timeout=None):
        """The average word autocorrelation of a text's most frequent words (the course's .csv).

        Args:
            source, text: the text, as for word_count() (a path, bytes or a binary file; or text= a str).
            nwords: how many of the most frequent words (the word count's order) are averaged.
            timesteps: T, the number of lags: 0 .. T-1.
            mode: "exact": acf[t] = #{i: w at i and at i+t} / occurrences(w), labelled t;
                "course": the course script bit for bit (pairs counted from position 1, lags
                labelled 1 .. T).
            min_length: words shorter than this are not candidates for the top words.

        Returns:
            WordAcfResult: .acf (T float64 values), .lags, .words, .counts, .total, .summary;
            .write_csv(path) writes the course's CSV ("%.18e,%.18e" rows).

        Raises:
            as word_count().
        """
        spec = lanes_pb2.WordAcfSpec(mode=_choice("word ACF mode", mode, _MODES), nwords=_int_arg("nwords", nwords),
                                     timesteps=_int_arg("timesteps", timesteps),
                                     min_length=_int_arg("min_length", min_length), backend=_backend(backend))
        opened = _open_text(source, text, "word_acf")
        try:
            pieces, one = _one_piece(_text.text_chunks(opened, self.chunk_bytes, "word_acf source"))
            if one is not None:
                r = self._job("WordAcf", spec, timeout, whole=[one])
            else:
                r = self._job("WordAcf", spec, timeout, chunks=((b,) for b in pieces))
        finally:
            _close(opened)
        self._last_summary = r.summary
        acf = np.frombuffer(r.acf, dtype="<f8").astype(np.float64)
        return WordAcfResult(acf, r.words, r.counts, r.first_label, r.total_words, _summary(r.summary))

    def corpus(self, documents, word_count=True, word_acf=True, *, min_length=0, mode="exact", nwords=16,
               timesteps=100, zipf_words=10, backend=None, progress=False, raise_errors=False, timeout=None):
        """Runs the course's jobs on many documents in one call (the daemon's process pool).

        Args:
            documents: a list of paths (str or os.PathLike; the name is the file name), or of
                (name, source) pairs, source as word_count()'s: a path, bytes (a text in a str:
                encode it) or an open binary file. Names must be unique.
            word_count, word_acf: which results each document gets.
            min_length, mode, nwords, timesteps: as word_count() and word_acf().
            zipf_words: columns of the Zipf table.
            backend: None/"auto" or "process-pool" (a corpus runs on the process pool only).
            progress: show a tqdm progress bar of the documents done.
            raise_errors: raise a document's failure (a lanes.Error) instead of reporting it in its
                DocResult.error.

        Returns:
            A CorpusRun: iterate it for DocResult objects, in the order the documents finish, while
            the documents are still being sent; after the last one, .zipf holds the Zipf table
            [(book, counts)], .zipf_csv_text() / .write_zipf(path) the course's results.csv, and
            .documents, .failed, .summary the totals.

        A path that names no file, or that cannot be read, is that document's failed DocResult
        (error lanes.FileNotFound or lanes.FileError, naming the file) and the other documents run;
        when no document can be read the call raises that error at once.
        """
        spec = lanes_pb2.CorpusSpec(word_count=bool(word_count), word_acf=bool(word_acf),
                                    min_length=_int_arg("min_length", min_length),
                                    mode=_choice("word ACF mode", mode, _MODES), nwords=_int_arg("nwords", nwords),
                                    timesteps=_int_arg("timesteps", timesteps),
                                    zipf_words=_int_arg("zipf_words", zipf_words), backend=_backend(backend))
        if isinstance(documents, (str, bytes, os.PathLike)):
            raise errors.InvalidArgument("corpus() takes a list of documents: corpus([path]) for one")
        docs = []
        for i, d in enumerate(_iterate(documents, "documents")):
            if isinstance(d, tuple):
                if len(d) != 2 or not isinstance(d[0], str):
                    raise errors.InvalidArgument(f"corpus document {i} is a tuple but not a (name, source) pair")
                name, source = d
                if not (_text.is_path(source) or isinstance(source, (bytes, bytearray, memoryview))
                        or hasattr(source, "read")):
                    raise errors.InvalidArgument(f"corpus document {name!r}: its source must be a path (str or "
                                                 f"os.PathLike), bytes or a binary file, not {type(source).__name__}")
                docs.append((name, source))
            elif _text.is_path(d):
                docs.append((_text.doc_name(d), d))
            else:
                raise errors.InvalidArgument(f"corpus document {i} must be a path (str or os.PathLike) or a "
                                             f"(name, source) pair, not {type(d).__name__}")
        names = [n for n, _ in docs]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise errors.InvalidArgument(f"corpus document names must be unique: {', '.join(dup)} given twice")
        if not docs:
            raise errors.InvalidArgument("corpus() needs at least one document")
        bad = {}
        for name, source in docs:
            if _text.is_path(source):
                err = _text.check_path(source, f"corpus document {name!r} at")
                if err is not None:
                    bad[name] = err
        if len(bad) == len(docs):
            raise _nothing_readable(list(bad.values()))
        if progress:
            try:
                import tqdm.auto  # noqa: F401 - CorpusRun draws its bar with it
            except ImportError:
                raise errors.FailedPrecondition("progress=True needs tqdm: pip install tqdm "
                                                "(or pip install 'clients/python[progress]')") from None
        return CorpusRun(self, spec, docs, bad, progress, raise_errors, self._timeout(timeout))


_MODES = {"exact": lanes_pb2.WordAcfSpec.EXACT, "course": lanes_pb2.WordAcfSpec.COURSE}


def _open_text(source, text, fn):
    """The opened text source of word_count/word_acf: exactly one of source and text=."""
    if text is not None:
        if source is not None:
            raise errors.InvalidArgument(f"{fn}() takes a source or text=, not both")
        if not isinstance(text, str):
            raise errors.InvalidArgument(f"{fn}(text=...) takes a str, not {type(text).__name__} "
                                         "(bytes go as the source)")
        try:
            return None, text.encode("utf-8"), None
        except UnicodeEncodeError as e:
            raise errors.InvalidArgument(f"{fn}(text=...) cannot be encoded as UTF-8: character {e.start} is "
                                         f"{text[e.start]!r} ({e.reason})") from None
    if source is None:
        raise errors.InvalidArgument(f"{fn}() needs a source (a path, bytes or a binary file) or text=")
    return _text.open_source(source, f"{fn} source", "(to count the words of a str itself, pass text=...)")


def _nothing_readable(errs):
    """The error of a corpus call none of whose documents can be read: the one document's error, or
    one naming them all (FileNotFound when every one is missing)."""
    if len(errs) == 1:
        return errs[0]
    shown = "; ".join(e.message for e in errs[:5]) + ("; ..." if len(errs) > 5 else "")
    msg = f"none of the {len(errs)} corpus documents can be read: {shown}"
    if all(isinstance(e, errors.FileNotFound) for e in errs):
        return errors.FileNotFound(msg, errs[0].filename)
    return errors.FileError(msg, errs[0].filename)


def _iterate(x, what):
    try:
        return iter(x)
    except TypeError:
        raise errors.InvalidArgument(f"{what} must be iterable, not {type(x).__name__}") from None


builtin_range = range


def _auto_range(x):
    """numpy.histogram's default range: (min, max), (0, 1) when empty; non-finite raises as numpy does."""
    if x.size == 0:
        return (0.0, 1.0)
    lo, hi = float(x.min()), float(x.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise errors.InvalidArgument(f"autodetected range of [{lo}, {hi}] is not finite")
    return (lo, hi)


def _backend(name):
    key = name.lower().replace("_", "-") if isinstance(name, str) else name
    try:
        return _BACKENDS[key]
    except (KeyError, TypeError):
        raise errors.InvalidArgument(f"unknown backend {name!r} (auto, inline, cpu, process-pool, cuda)") from None


def _check_timeout(timeout):
    if timeout is None:
        return None
    t = _float_arg("timeout", timeout)
    if not t > 0:
        raise errors.InvalidArgument(f"timeout must be a number of seconds above 0 (or None), got {timeout!r}")
    return t


_INT_TYPES = {FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT32,
              FieldDescriptor.CPPTYPE_UINT64}
_FLOAT_TYPES = {FieldDescriptor.CPPTYPE_FLOAT, FieldDescriptor.CPPTYPE_DOUBLE}


def _field_value(f, v):
    if f.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
        return _message_dict(v)
    if f.cpp_type == FieldDescriptor.CPPTYPE_ENUM:
        e = f.enum_type.values_by_number.get(v)
        return e.name if e is not None else int(v)
    if f.cpp_type in _INT_TYPES:
        return int(v)
    if f.cpp_type in _FLOAT_TYPES:
        return float(v)
    if f.cpp_type == FieldDescriptor.CPPTYPE_BOOL:
        return bool(v)
    return v  # str, bytes


def _message_dict(m):
    """A protobuf message as a dict by field name, with Python values of the fields' types: integers
    (protobuf's JSON would give 64-bit ones as strings) as int, float and double as float, enums by
    name, messages as dicts, repeated fields as lists. Every field is present (its default when not
    set), except unset message fields and oneof members other than the one set."""
    out = {}
    for f in m.DESCRIPTOR.fields:
        v = getattr(m, f.name)
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            vf = f.message_type.fields_by_name["value"]
            out[f.name] = {k: _field_value(vf, x) for k, x in v.items()}
        elif f.is_repeated:
            out[f.name] = [_field_value(f, x) for x in v]
        elif (f.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE or f.containing_oneof is not None) and \
                not m.HasField(f.name):
            continue
        else:
            out[f.name] = _field_value(f, v)
    return out


def _summary(s):
    """A JobSummary as a dict: backend, reason (str); elements, chunks, bytes_in, bytes_out, threads
    (int); queued_seconds, compute_seconds, stream_seconds (float)."""
    return _message_dict(s)


class CorpusRun:
    """A running corpus call (see Client.corpus): iterate it for DocResult objects as documents finish.

    After the iteration: zipf [(book, [counts])] in the order the documents were sent (failed ones left
    out), documents and failed (counts, including documents the client could not read), summary
    (dict). Iterating again yields nothing; breaking out of the loop cancels the call.

    Design: documents the client cannot read are failed DocResults, never sent: those found before the
    call (paths checked by corpus()) are yielded first; a path that fails to open, or whose first read
    fails, in gRPC's request thread is queued in `_unread` (a deque: appends and pops are
    thread-safe) and yielded by the caller's thread after the next response. A read that fails after
    part of a document was sent cannot be taken back: it ends the call with that error.
    """

    def __init__(self, client, spec, docs, bad, progress, raise_errors, timeout):
        self._client, self._spec, self._docs, self._bad = client, spec, docs, bad
        self._progress, self._raise, self._timeout = progress, raise_errors, timeout
        self._started = False
        self._unread = collections.deque()
        self.zipf = None
        self.documents = self.failed = 0
        self.summary = None
        self._zipf_words = spec.zipf_words or 10

    def __iter__(self):
        if self._started:
            return iter(())
        self._started = True
        return self._run()

    def results(self):
        """All the DocResult objects in a list (runs the call to its end)."""
        return list(self)

    def zipf_csv_text(self):
        """The course's results.csv text: "Book,word1,...", then one row of counts per book."""
        if self.zipf is None:
            raise errors.FailedPrecondition("the Zipf table comes at the end: iterate the corpus call first")
        return _text.zipf_csv_text(self.zipf, self._zipf_words)

    def write_zipf(self, path):
        """Writes the course's results.csv."""
        _text.write_text(path, self.zipf_csv_text(), "utf-8", "write_zipf path")

    def _requests(self, failure, sent):
        chunk = self._client.chunk_bytes
        yield lanes_pb2.CorpusRequest(spec=self._spec)
        try:
            for name, source in self._docs:
                if name in self._bad:
                    continue
                what = f"corpus document {name!r}"
                try:
                    opened = _text.open_source(source, what + " at" if _text.is_path(source) else what)
                    pieces = _text.text_chunks(opened, chunk, what)
                    prev = next(pieces, b"")
                except errors.Error as e:  # nothing of it sent yet: it fails alone
                    self._unread.append(DocResult(name, e))
                    continue
                first = True
                for b in pieces:
                    yield _doc_piece(name if first else "", prev, False)
                    first = False
                    prev = b
                yield _doc_piece(name if first else "", prev, True)
                sent[0] += 1
        except Exception as e:  # reported after the call, in the caller's thread
            failure.append(e)

    def _local_failures(self, bar):
        """The DocResults of documents the client could not read, as they are found."""
        while self._unread:
            res = self._unread.popleft()
            self._local.append(res.error)
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(res.name, refresh=False)
            if self._raise:
                raise res.error
            yield res

    def _run(self):
        failure, sent = [], [0]
        self._local = []  # the errors of the documents the client could not read
        bar = None
        if self._progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=len(self._docs), unit="doc", desc="corpus")
        parts = {}  # name -> (words, counts) of a word table sent in several DocResult messages
        call = None

        def unreadable():
            """The error when no document could be read here: that, not the daemon's error, is the reason."""
            return _nothing_readable(self._local) if sent[0] == 0 and len(self._local) == len(self._docs) else None

        with _rpc_errors(failure, instead=unreadable):
            try:
                for name, err in self._bad.items():
                    self._unread.append(DocResult(name, err))
                yield from self._local_failures(bar)
                call = self._client._stub.Corpus(self._requests(failure, sent), timeout=self._timeout)
                for r in call:
                    if failure:
                        call.cancel()
                        break
                    yield from self._local_failures(bar)
                    if r.HasField("done"):
                        d = r.done
                        self.zipf = [(z.book, [int(c) for c in z.counts]) for z in d.zipf]
                        self.documents, self.failed = int(d.documents), int(d.failed)
                        self.summary = _summary(d.summary)
                        self._client._last_summary = d.summary
                        continue
                    doc = r.doc
                    words, counts = parts.setdefault(doc.name, ([], []))
                    words.extend(doc.counts.words)
                    counts.extend(doc.counts.counts)
                    if not doc.done:
                        continue
                    del parts[doc.name]
                    res = self._doc_result(doc, words, counts)
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix_str(doc.name, refresh=False)
                    if res.error is not None and self._raise:
                        raise res.error
                    yield res
                yield from self._local_failures(bar)
            finally:
                if call is not None:
                    call.cancel()
                if bar is not None:
                    bar.close()
        err = unreadable()
        if err is not None:
            raise err  # every path vanished between corpus() and its reading
        if self.zipf is None:
            raise errors.Internal("the Corpus stream ended without its CorpusDone message")
        self.documents += len(self._local)
        self.failed += len(self._local)

    def _doc_result(self, doc, words, counts):
        error = None
        if doc.status:
            code = _STATUS_BY_VALUE.get(doc.status, grpc.StatusCode.UNKNOWN)
            error = errors.from_code(code, doc.error or f"document {doc.name!r} failed")
        wc = acf = None
        if error is None and self._spec.word_count:
            wc = WordCountResult(words, counts, doc.total_words, len(words))
        if error is None and self._spec.word_acf:
            by_word = dict(zip(words, counts))
            a = np.frombuffer(doc.acf, dtype="<f8").astype(np.float64)
            acf = WordAcfResult(a, doc.acf_words, [by_word[w] for w in doc.acf_words if w in by_word]
                                if by_word else [], doc.first_label, doc.total_words)
        return DocResult(doc.name, error, wc, acf, doc.backend, int(doc.attempts), float(doc.seconds))


_STATUS_BY_VALUE = {c.value[0]: c for c in grpc.StatusCode}


def _doc_piece(name, data, last):
    m = lanes_pb2.CorpusRequest()
    m.doc.name = name
    m.doc.data = data
    m.doc.last = last
    return m


def _is_array_like(x):
    """Whether acf() gets one series (an array, a list of numbers) rather than an iterable of chunks."""
    if isinstance(x, np.ndarray) or hasattr(x, "__array__") or np.isscalar(x):
        return True
    if isinstance(x, (list, tuple)):
        return len(x) == 0 or np.ndim(x[0]) == 0
    return False


def _default_nlags(n):
    """statsmodels' default: min(int(10*log10(n)), n - 1)."""
    return min(int(10 * np.log10(n)), n - 1)


# The largest text sent in one unary call: its word table then always fits the 4 MiB reply (each word
# costs at most 3 bytes of text and 5 of table).
ONCE_TEXT_BYTES = 1 << 20


def _one_piece(pieces):
    """(pieces, the only piece) when the iterable holds at most one piece (b"" for none), else
    (an iterator over all the pieces, None)."""
    it = iter(pieces)
    first = next(it, None)
    if first is None:
        return iter(()), b""
    second = next(it, None)
    if second is None and len(first) <= ONCE_TEXT_BYTES:
        return iter((first,)), first
    if second is None:
        return iter((first,)), None
    return itertools.chain((first, second), it), None


def _acf_result_bytes(nlags, alpha, qstat):
    per = 8 * (1 + (2 if alpha is not None else 0) + (2 if qstat else 0))
    return (int(nlags) + 1) * per


# Each job's two calls (Client._job): its unary twin (method, call message), its stream's request message,
# and whether the stream's reply is a stream too. Every stream starts with the spec, then chunks.
_CALLS = {
    "Map": ("MapOnce", lanes_pb2.MapCall, lanes_pb2.MapRequest, True),
    "Reduce": ("ReduceOnce", lanes_pb2.ReduceCall, lanes_pb2.ReduceRequest, False),
    "Acf": ("AcfOnce", lanes_pb2.AcfCall, lanes_pb2.AcfRequest, True),
    "WordCount": ("WordCountOnce", lanes_pb2.WordCountCall, lanes_pb2.WordCountRequest, True),
    "WordAcf": ("WordAcfOnce", lanes_pb2.WordAcfCall, lanes_pb2.WordAcfRequest, False),
}


@contextlib.contextmanager
def _rpc_errors(failure=None, instead=None):
    """The error guard of every call: a grpc.RpcError becomes the lanes.Error of its code
    (errors.from_rpc_error), unless a request source failed first (`failure`, filled by _guarded),
    whose own exception is raised instead, or `instead()` gives the error that explains it better.
    When the call ends without a gRPC error, a request source's failure is raised too."""
    try:
        yield
    except grpc.RpcError as e:
        _reraise(failure)
        better = instead() if instead is not None else None
        if better is not None:
            raise better from None
        raise errors.from_rpc_error(e) from None
    _reraise(failure)


def _guarded(iterable, failure):
    """Iterates a request source in gRPC's request thread; an exception ends the requests and is kept
    in `failure` (re-raised in the caller's thread by _reraise, instead of gRPC logging it)."""
    try:
        yield from iterable
    except Exception as e:
        failure.append(e)


def _reraise(failure):
    if failure:
        raise failure[0]


def _close(opened):
    close = opened[2]
    if close is not None:
        close()
