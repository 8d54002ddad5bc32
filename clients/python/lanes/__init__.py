"""lanes: map and reduce numpy arrays, autocorrelations and word counts on a lanesd daemon (GPU- and
SIMD-accelerated), from Python.

    import numpy as np, lanes
    with lanes.Client("127.0.0.1:50051") as c:
        y = c.map("square", np.arange(10.0))          # like Pool.map(square, x), far faster
        s = c.reduce("sum", np.random.rand(10**7))     # bit-identical for any chunking/thread count
        print(c.last_summary["backend"], c.last_summary["reason"])
        r = c.map("where(x > 0, log(x), 0)", x)       # an expression, run at SIMD speed
        pi = c.reduce("mean", expr="4*(u*u + v*v < 1)", u=lanes.uniform(seed=1),
                      v=lanes.uniform(seed=2), n=10**8)  # Monte-Carlo pi, no input bytes sent
        r = c.acf(x, nlags=40, alpha=0.05)            # statsmodels' acf: (acf, confint)
        c.word_count("pg99.txt").write_dat("pg99.dat")  # the word-count course's jobs, its files
        c.word_count(text="to be or not to be")         # a text in a str goes by text= (a str is a path)
        c.word_acf("pg99.txt", mode="course").write_csv("pg99.csv")
        for doc in c.corpus(["pg99.txt", "pg58.txt"], progress=True):  # many books at once
            print(doc.name, doc.word_count.entries[:3])

See lanes.Client for every call. Every error a call raises is a lanes.Error subclass carrying the gRPC
status code and a message naming the problem, whether the daemon or the client found it
(InvalidArgument is also a ValueError and a TypeError; FileNotFound, for a path that names no file, is
also a FileNotFoundError).
"""
from .client import ACCEPTED_DTYPES, DEFAULT_ADDRESS, Client, CorpusRun, Generated, normal, uniform, wire_dtype
from .client import range_ as range  # noqa: A001 - lanes.range(start, step), like numpy.arange
from .errors import (Cancelled, DeadlineExceeded, Error, FailedPrecondition, FileError, FileNotFound, Internal,
                     InvalidArgument, NotFound, ResourceExhausted, Unavailable, Unimplemented)
from .text import DocResult, WordAcfResult, WordCountResult

__version__ = "0.1.0"
__all__ = ["Client", "DEFAULT_ADDRESS", "ACCEPTED_DTYPES", "wire_dtype", "Generated", "uniform", "normal", "range",
           "CorpusRun", "WordCountResult", "WordAcfResult", "DocResult", "Error", "InvalidArgument",
           "ResourceExhausted", "FailedPrecondition", "Unavailable", "DeadlineExceeded", "Cancelled", "Unimplemented",
           "NotFound", "FileNotFound", "FileError", "Internal"]
