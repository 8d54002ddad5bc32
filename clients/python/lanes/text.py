"""Results of the text jobs (word count, word ACF, corpus) and the course's file formats.

Design: the daemon sends numbers and words; everything the course prints is formatted here, in Python,
with the course's own expressions, so the files are the course's byte for byte: a .dat line is
" ".join(str(c)) of (word, count, float(count) / total * 100.0), whose last field is the float's repr;
a CSV row is numpy.savetxt's "%.18e,%.18e" of (lag, value). Text sources are explicit: a str or an
os.PathLike is always a path (a typo in a path is FileNotFound, never the path's own words counted),
bytes are the text, an object with read() a binary file; a text in a str goes by the text= keyword.
They are read lazily in chunks by text_chunks(), never whole.
"""
import errno
import os
import stat

import numpy as np

from . import errors


class WordCountResult:
    """The word table of one document, in the course's order (count descending, ties by first
    occurrence).

    Attributes:
        entries: list of (word, count, pct) tuples; pct = count / total * 100 (a float).
        words, counts: the same table as two lists.
        total: words counted (after min_length), the percentages' denominator.
        distinct: distinct words (after min_length); len(entries) is smaller when top= cut the table.
        summary: the job's summary as a dict (backend, reason, timings), or None.
    """

    __slots__ = ("words", "counts", "total", "distinct", "summary", "_entries")

    def __init__(self, words, counts, total, distinct=None, summary=None):
        self.words = list(words)
        self.counts = list(counts)
        self.total = int(total)
        self.distinct = len(self.words) if distinct is None else int(distinct)
        self.summary = summary
        self._entries = None

    @property
    def entries(self):
        """[(word, count, pct)], made on first use (a big table's tuples cost more than its transfer)."""
        if self._entries is None:
            total = self.total
            # c / total is the correctly rounded quotient, as the course's float(c) / total (both < 2**53)
            self._entries = [(w, c, c / total * 100.0) for w, c in zip(self.words, self.counts)]
        return self._entries

    def __len__(self):
        return len(self.words)

    def __iter__(self):
        return iter(self.entries)

    def __getitem__(self, i):
        return self.entries[i]

    def __repr__(self):
        head = ", ".join(f"{w!r}: {c}" for w, c, _ in self.entries[:3])
        more = ", ..." if len(self) > 3 else ""
        return f"<WordCountResult {self.total} words, {self.distinct} distinct: {head}{more}>"

    def dat_text(self):
        """The course's .dat file as a str: one "word count pct" line per entry (the course's
        " ".join(str(c) for c in entry); str of a float is its repr)."""
        total = self.total
        # A table has few distinct counts (Zipf: pg65's 102,085 words share 42), so " count pct\n" is
        # formatted once per count: a sixth of the time of formatting every line.
        tails = {c: f" {c} {c / total * 100.0!r}\n" for c in set(self.counts)}
        tail = tails.__getitem__
        return "".join([w + tail(c) for w, c in zip(self.words, self.counts)])

    def write_dat(self, path):
        """Writes the course's .dat file (UTF-8), byte for byte what the course's script writes."""
        write_text(path, self.dat_text(), "utf-8", "write_dat path")


class WordAcfResult:
    """The average word autocorrelation of a document's top words.

    Attributes:
        acf: numpy float64 array of T values, acf[t] for lag lags[t].
        lags: numpy int64 array of the CSV labels: 0 .. T-1 (exact mode) or 1 .. T (course mode).
        words: the words averaged, by rank.
        counts: their counts (empty when the daemon did not send them).
        total: words in the document (before min_length), or 0 when not sent.
        summary: the job's summary as a dict, or None.
    """

    __slots__ = ("acf", "lags", "words", "counts", "total", "summary")

    def __init__(self, acf, words, counts, first_label, total=0, summary=None):
        self.acf = acf
        self.lags = np.arange(int(first_label), int(first_label) + acf.size, dtype=np.int64)
        self.words = list(words)
        self.counts = [int(c) for c in counts]
        self.total = int(total)
        self.summary = summary

    @property
    def first_label(self):
        return int(self.lags[0]) if self.lags.size else 0

    def __repr__(self):
        return f"<WordAcfResult T={self.acf.size} of {len(self.words)} words, lags from {self.first_label}>"

    def csv_text(self):
        """The course's CSV as a str: numpy.savetxt of (lag, value) rows, "%.18e,%.18e" each."""
        return "".join("%.18e,%.18e\n" % (lag, v) for lag, v in zip(self.lags.astype(np.float64), self.acf))

    def write_csv(self, path):
        """Writes the course's CSV file, byte for byte what the course's np.savetxt call writes."""
        write_text(path, self.csv_text(), "ascii", "write_csv path")


class DocResult:
    """One document's result from a corpus call.

    Attributes:
        name: the document's name as sent.
        ok: True when the document succeeded.
        error: None, or the lanes.Error of this document's failure (with .code and .message).
        word_count: a WordCountResult when the corpus asked for word counts, else None.
        word_acf: a WordAcfResult when the corpus asked for word ACFs, else None.
        backend: where it ran ("process-pool worker 3 (pid 1234)"; "" for a document the client could
            not read, which was never sent); attempts: tries it took; seconds: its compute time.
    """

    __slots__ = ("name", "error", "word_count", "word_acf", "backend", "attempts", "seconds")

    def __init__(self, name, error=None, word_count=None, word_acf=None, backend="", attempts=0, seconds=0.0):
        self.name, self.error, self.word_count, self.word_acf = name, error, word_count, word_acf
        self.backend, self.attempts, self.seconds = backend, attempts, seconds

    @property
    def ok(self):
        return self.error is None

    def __repr__(self):
        what = f"error {self.error}" if self.error else f"{self.word_count.total if self.word_count else '?'} words"
        return f"<DocResult {self.name!r}: {what}>"


def zipf_csv_text(rows, zipf_words=None):
    """The Zipf table as CSV text: "Book,word1,...,wordK" then one "book,count,..." row per document.

    rows: (book, counts) pairs. K is zipf_words, or the longest row's length."""
    k = zipf_words if zipf_words is not None else max((len(c) for _, c in rows), default=10)
    out = [",".join(["Book"] + [f"word{i}" for i in range(1, k + 1)])]
    out += [",".join([book] + [str(int(c)) for c in counts]) for book, counts in rows]
    return "\n".join(out) + "\n"


def write_text(path, text, encoding, what):
    """Writes `text` to the file `path`; an OSError becomes lanes.FileError naming `what` and the path."""
    try:
        with open(path, "w", encoding=encoding) as f:
            f.write(text)
    except OSError as e:
        raise errors.FileError(f"{what} {os.fspath(path)!r} cannot be written: {e.strerror or e}",
                               os.fspath(path), e.errno) from None


def is_path(source):
    """Whether a text source is a file path: a str or an os.PathLike (a str is never taken as text)."""
    return isinstance(source, (str, os.PathLike))


def check_path(path, what):
    """None when `path` names a readable regular file, else the lanes error saying why not (without
    opening it: a corpus checks every document before its call starts)."""
    try:
        st = os.stat(path)
    except OSError as e:
        return errors.from_os_error(e, what)
    if stat.S_ISDIR(st.st_mode):
        return errors.from_os_error(IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path), what)
    if not os.access(path, os.R_OK):
        return errors.from_os_error(PermissionError(errno.EACCES, os.strerror(errno.EACCES), path), what)
    return None


def open_source(source, what, text_hint=""):
    """Opens a text source for text_chunks(): returns (binary file-like or None, bytes or None, close).

    `what` names the argument in errors ("word_count source"). A path (a str or an os.PathLike) is
    opened now, so a missing file raises lanes.FileNotFound (a FileNotFoundError) naming it in the
    caller's thread; `text_hint` is added to that message when the path is a str (it may have been
    meant as text). Bytes-like objects are the text's bytes; an object with a read() method is read
    as a binary file (not closed here). Anything else is lanes.InvalidArgument."""
    if is_path(source):
        try:
            f = open(source, "rb")
        except OSError as e:
            err = errors.from_os_error(e, what)
            if text_hint and isinstance(source, str) and isinstance(err, errors.FileNotFound):
                err = errors.FileNotFound(f"{err.message} {text_hint}", err.filename)
            raise err from None
        return f, None, f.close
    if isinstance(source, (bytes, bytearray, memoryview)):
        return None, bytes(source), None
    if hasattr(source, "read"):
        return source, None, None
    raise errors.InvalidArgument(f"{what} must be a path (str or os.PathLike), bytes or a binary file, "
                                 f"not {type(source).__name__}")


def text_chunks(opened, chunk_bytes, what="text source"):
    """Yields the bytes of an opened source in pieces of at most chunk_bytes; closes a file it opened.
    A read that fails raises lanes.FileError (an OSError) naming `what`; a file opened in text mode
    raises lanes.InvalidArgument."""
    f, data, close = opened
    try:
        if data is not None:
            for i in range(0, len(data), chunk_bytes):
                yield data[i:i + chunk_bytes]
            return
        while True:
            try:
                b = f.read(chunk_bytes)
            except OSError as e:
                name = getattr(f, "name", None)
                raise errors.FileError(f"{what} {name if name is not None else '(a file object)'!r} could not be "
                                       f"read: {e.strerror or e}", name, e.errno) from None
            if not b:
                return
            if isinstance(b, str):
                raise errors.InvalidArgument(f"{what}: open the text file in binary mode ('rb'): lanes sends its bytes")
            if not isinstance(b, (bytes, bytearray, memoryview)):
                raise errors.InvalidArgument(f"{what}: read() returned {type(b).__name__}, not bytes")
            yield bytes(b)
    finally:
        if close is not None:
            close()


def doc_name(source):
    """The name a corpus gives a path: its file name (the Zipf table's book is that without extension)."""
    return os.path.basename(os.fspath(source))
