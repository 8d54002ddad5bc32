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
        c.word_acf("pg99.txt", mode="course").write_csv("pg99.csv")
        for doc in c.corpus(["pg99.txt", "pg58.txt"], progress=True):  # many books at once
            print(doc.name, doc.word_count.entries[:3])

See lanes.Client for every call; errors are lanes.Error subclasses carrying the gRPC status code and
the server's message.
"""
from .client import DEFAULT_ADDRESS, Client, CorpusRun, Generated, normal, uniform, wire_dtype
from .client import range_ as range  # noqa: A001 - lanes.range(start, step), like numpy.arange
from .errors import (Cancelled, DeadlineExceeded, Error, FailedPrecondition, Internal, InvalidArgument, NotFound,
                     ResourceExhausted, Unavailable, Unimplemented)
from .text import DocResult, WordAcfResult, WordCountResult

__version__ = "0.1.0"
__all__ = ["Client", "DEFAULT_ADDRESS", "wire_dtype", "Generated", "uniform", "normal", "range", "CorpusRun",
           "WordCountResult", "WordAcfResult", "DocResult", "Error", "InvalidArgument", "ResourceExhausted",
           "FailedPrecondition", "Unavailable", "DeadlineExceeded", "Cancelled", "Unimplemented", "NotFound",
           "Internal"]
