"""Errors raised by the lanes client: one class per gRPC status a caller may want to catch.

Every error carries the gRPC status code (`.code`, a grpc.StatusCode) and the server's message
(`.message`), which names the problem ("unknown function 'sine' ...").

Design: every error a client call raises is an Error subclass, whether the daemon found the problem
or the client did before sending anything (a complex array, arrays that do not broadcast, a missing
file). The client's own checks use the class of the status the daemon would have given, with a
message that names the argument. For code written against plain Python exceptions, InvalidArgument
is also a ValueError and a TypeError, and FileNotFound a FileNotFoundError (OSError), so existing
`except` clauses keep working.
"""
import errno as _errno
import os

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


class InvalidArgument(Error, ValueError, TypeError):
    """The request was wrong: unknown function or op, bad dtype, bad chunk, missing parameter.

    Also a ValueError and a TypeError: the client's checks raised those before lanes.Error covered them."""
    code = grpc.StatusCode.INVALID_ARGUMENT


class ResourceExhausted(Error):
    """A limit was hit: message too large, too many concurrent calls, out of memory."""
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(Error, RuntimeError):
    """The request asked for something that cannot be done now: a backend this daemon does not have,
    or a corpus' Zipf table asked for before its call was iterated."""
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


class FileNotFound(NotFound, FileNotFoundError):
    """A text source given as a path names no file (also a FileNotFoundError: .filename, .errno)."""

    def __init__(self, message, filename=None):
        Error.__init__(self, message)
        self.errno, self.strerror, self.filename = _errno.ENOENT, os.strerror(_errno.ENOENT), filename


class FileError(InvalidArgument, OSError):
    """A text source given as a path cannot be read: a folder, no permission, a read error (also an
    OSError carrying the original .errno and .filename)."""

    def __init__(self, message, filename=None, err=None):
        Error.__init__(self, message)
        self.errno = err
        self.strerror = os.strerror(err) if err else None
        self.filename = filename


def from_os_error(e, what):
    """The lanes error for an OSError `e` met while opening or reading `what` (a phrase naming the
    argument, such as "word_count source"): FileNotFound for a missing file, else FileError."""
    name = e.filename if e.filename is not None else None
    shown = os.fspath(name) if name is not None else "?"
    if isinstance(e, FileNotFoundError):
        return FileNotFound(f"{what} {shown!r}: no such file", name)
    return FileError(f"{what} {shown!r} cannot be read: {e.strerror or e}", name, e.errno)


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
