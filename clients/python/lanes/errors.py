"""Errors raised by the lanes client: one class per gRPC status a caller may want to catch.

Every error carries the gRPC status code (`.code`, a grpc.StatusCode) and the server's message
(`.message`), which names the problem ("unknown function 'sine' ...").
"""
import grpc


class Error(Exception):
    """Base class of every lanes client error.

    Attributes:
        code: the grpc.StatusCode of the failed call.
        message: the server's (or transport's) message.
    """

    code = grpc.StatusCode.UNKNOWN

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self):
        return f"{self.code.name}: {self.message}"


class InvalidArgument(Error, ValueError):
    """The request was wrong: unknown function or op, bad dtype, bad chunk, missing parameter."""
    code = grpc.StatusCode.INVALID_ARGUMENT


class ResourceExhausted(Error):
    """A limit was hit: message too large, too many concurrent calls, out of memory."""
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(Error):
    """The request asked for something this daemon cannot do now (a backend that is not available)."""
    code = grpc.StatusCode.FAILED_PRECONDITION


class Unavailable(Error, ConnectionError):
    """The daemon could not be reached or is shutting down."""
    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(Error, TimeoutError):
    """The call ran past its timeout."""
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class Cancelled(Error):
    """The call was cancelled."""
    code = grpc.StatusCode.CANCELLED


class Unimplemented(Error):
    """The daemon does not serve this method (an older daemon?)."""
    code = grpc.StatusCode.UNIMPLEMENTED


class NotFound(Error, LookupError):
    """The named thing (a health service name) does not exist."""
    code = grpc.StatusCode.NOT_FOUND


class Internal(Error):
    """The daemon failed internally; please report it with the daemon's log."""
    code = grpc.StatusCode.INTERNAL


_BY_CODE = {cls.code: cls for cls in (InvalidArgument, ResourceExhausted, FailedPrecondition, Unavailable,
                                      DeadlineExceeded, Cancelled, Unimplemented, NotFound, Internal)}


def from_rpc_error(e):
    """Converts a grpc.RpcError into the matching lanes Error subclass (Error for other codes)."""
    code = e.code() if hasattr(e, "code") else grpc.StatusCode.UNKNOWN
    details = e.details() if hasattr(e, "details") else str(e)
    cls = _BY_CODE.get(code, Error)
    err = cls(details or code.name, code)
    return err


def from_code(code, message):
    """The lanes Error subclass for a grpc.StatusCode (Error for other codes), with `message`."""
    return _BY_CODE.get(code, Error)(message, code)
