"""lanes: map and reduce numpy arrays on a lanesd daemon (GPU- and SIMD-accelerated), from Python.

    import numpy as np, lanes
    with lanes.Client("127.0.0.1:50051") as c:
        y = c.map("square", np.arange(10.0))          # like Pool.map(square, x), far faster
        s = c.reduce("sum", np.random.rand(10**7))     # bit-identical for any chunking/thread count
        print(c.last_summary["backend"], c.last_summary["reason"])
        r = c.map("where(x > 0, log(x), 0)", x)       # an expression, run at SIMD speed
        pi = c.reduce("mean", expr="4*(u*u + v*v < 1)", u=lanes.uniform(seed=1),
                      v=lanes.uniform(seed=2), n=10**8)  # Monte-Carlo pi, no input bytes sent

See lanes.Client for every call; errors are lanes.Error subclasses carrying the gRPC status code and
the server's message.
"""
from .client import DEFAULT_ADDRESS, Client, Generated, normal, uniform, wire_dtype
from .client import range_ as range  # noqa: A001 - lanes.range(start, step), like numpy.arange
from .errors import (Cancelled, DeadlineExceeded, Error, FailedPrecondition, Internal, InvalidArgument, NotFound,
                     ResourceExhausted, Unavailable, Unimplemented)

__version__ = "0.1.0"
__all__ = ["Client", "DEFAULT_ADDRESS", "wire_dtype", "Generated", "uniform", "normal", "range", "Error", "InvalidArgument", "ResourceExhausted",
           "FailedPrecondition", "Unavailable", "DeadlineExceeded", "Cancelled", "Unimplemented", "NotFound",
           "Internal"]
