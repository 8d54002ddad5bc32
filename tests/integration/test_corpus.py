"""The Corpus endpoint through the Python client: many documents in one call on the process pool.

Every document's .dat must equal the course script's, its CSV the exact numpy reference's (course and
exact modes), and the Zipf table the course's results.csv (scripts/course/zipf.py over the course's
.dat files). A bad document fails alone (its DocResult carries the status), whether the daemon found
it bad or the client could not read it (a missing path); results arrive while the client is still
sending; breaking out of the loop cancels the call and the daemon keeps serving.
"""
import sys
import threading

import grpc
import numpy as np
import pytest

import lanes
from lanes.v1 import lanes_pb2

from conftest import ROOT, SHARED_DATA

sys.path.insert(0, str(ROOT / "scripts" / "course"))
import numpy_ref  # noqa: E402
import wordcount as course_wc  # noqa: E402
import zipf as course_zipf  # noqa: E402

BOOKS_DIR = SHARED_DATA / "gutenberg"
BOOKS = ["pg105", "pg42", "pg45", "pg58", "pg65", "pg87", "pg99"]
SMALL_BOOKS = ["pg99", "pg58", "pg42"]


@pytest.fixture(scope="module")
def client(daemon):
    with lanes.Client(daemon.address, timeout=300) as c:
        yield c


@pytest.fixture(scope="module")
def books():
    paths = [BOOKS_DIR / f"{b}.txt" for b in BOOKS]
    missing = [p for p in paths if not p.exists()]
    assert not missing, f"the course's books are missing: {missing[0]} (they are in ../shared/data/gutenberg)"
    return paths


@pytest.fixture(scope="module")
def course_dats(books, tmp_path_factory):
    out = tmp_path_factory.mktemp("course")
    dats = {}
    for p in books:
        dats[p.name] = out / f"{p.stem}.dat"
        course_wc.word_count(str(p), str(dats[p.name]), 1)
    return dats


def test_all_books_equal_the_course(client, books, course_dats, tmp_path):
    run = client.corpus(books, mode="course")
    docs = {d.name: d for d in run}
    assert sorted(docs) == sorted(p.name for p in books)
    for p in books:
        d = docs[p.name]
        assert d.ok and d.error is None, d.error
        d.word_count.write_dat(tmp_path / "lanes.dat")
        assert (tmp_path / "lanes.dat").read_bytes() == course_dats[p.name].read_bytes(), p.name
        assert d.word_acf.first_label == 1 and d.word_acf.acf.size == 100
        assert d.word_acf.words == [w for w, _, _ in d.word_count.entries[:16]]
        assert d.word_acf.counts == [c for _, c, _ in d.word_count.entries[:16]]
        assert "process-pool" in d.backend and d.attempts >= 1
        if p.stem in SMALL_BOOKS:
            acf, _ = numpy_ref.word_acf(numpy_ref.tokenize(numpy_ref.read_text(p)), mode="course")
            np.testing.assert_array_equal(d.word_acf.acf, acf)
            assert d.word_acf.csv_text() == numpy_ref.csv_text(acf, 1)
    assert run.documents == len(books) and run.failed == 0
    assert run.summary["backend"] == "process-pool"
    assert [b for b, _ in run.zipf] == [p.stem for p in books]  # the order they were sent
    run.write_zipf(tmp_path / "lanes.csv")
    course_zipf.zipf_table([str(course_dats[p.name]) for p in books], str(tmp_path / "course.csv"))
    assert (tmp_path / "lanes.csv").read_bytes() == (tmp_path / "course.csv").read_bytes()


def test_exact_mode_options_and_pieces(daemon, books):
    small = [p for p in books if p.stem in SMALL_BOOKS]
    with lanes.Client(daemon.address, timeout=300, chunk_bytes=4096) as c:  # documents in many pieces
        run = c.corpus(small, mode="exact", nwords=5, timesteps=30, zipf_words=3)
        docs = {d.name: d for d in run}
    for p in small:
        words = numpy_ref.tokenize(numpy_ref.read_text(p))
        acf, top = numpy_ref.word_acf(words, nwords=5, timesteps=30, mode="exact")
        d = docs[p.name]
        np.testing.assert_array_equal(d.word_acf.acf, acf)
        assert d.word_acf.words == [w for w, _ in top] and list(d.word_acf.lags) == list(range(30))
        assert [(w, c) for w, c, _ in d.word_count.entries] == numpy_ref.word_table(words)
    assert run.zipf_csv_text().splitlines()[0] == "Book,word1,word2,word3"
    assert all(len(c) == 3 for _, c in run.zipf)


def test_only_word_count_or_only_word_acf(client, books):
    p = books[BOOKS.index("pg99")]
    (d,) = list(client.corpus([p], word_acf=False))
    assert d.word_acf is None and d.word_count.entries[0] == ("the", 712, 6.233038606320581)
    (d,) = list(client.corpus([p], word_count=False, mode="course"))
    assert d.word_count is None and d.word_acf.words[:2] == ["the", "of"]
    with pytest.raises(lanes.InvalidArgument):
        list(client.corpus([p], word_count=False, word_acf=False))


def test_sources_names_and_min_length(client, books, tmp_path):
    p = books[BOOKS.index("pg58")]
    data = p.read_bytes()
    with open(p, "rb") as f:
        run = client.corpus([("bytes.txt", data), ("str.txt", str(p)), ("file.txt", f),
                             ("path.txt", p), ("empty.txt", b""), ("min.txt", data)], word_acf=False,
                            min_length=1)
        docs = {d.name: d for d in run}
    want = docs["path.txt"].word_count.entries
    assert want[:2] == [("the", 762, 3.962558502340094), ("and", 762, 3.962558502340094)]
    for name in ("bytes.txt", "str.txt", "file.txt", "min.txt"):
        assert docs[name].word_count.entries == want
    assert docs["empty.txt"].ok and docs["empty.txt"].word_count.entries == []
    assert [b for b, _ in run.zipf][:4] == ["bytes", "str", "file", "path"]


def test_a_bad_document_fails_alone(client, books):
    p = books[BOOKS.index("pg99")]
    docs = {d.name: d for d in client.corpus([("bad.txt", b"fine words \xc3\x28 then"), p], mode="course")}
    bad = docs["bad.txt"]
    assert not bad.ok and isinstance(bad.error, lanes.InvalidArgument)
    assert "byte 11" in bad.error.message and bad.word_count is None
    assert docs["pg99.txt"].ok
    run = client.corpus([("bad.txt", b"\xff"), p])
    list(run)
    assert run.failed == 1 and run.documents == 2 and [b for b, _ in run.zipf] == ["pg99"]
    with pytest.raises(lanes.InvalidArgument):
        list(client.corpus([p, ("bad.txt", b"\xff")], raise_errors=True))
    assert client.word_count(text="still serving").total == 2


def test_client_side_errors(client, books, tmp_path):
    with pytest.raises(lanes.InvalidArgument, match="names must be unique: pg105.txt given twice"):
        client.corpus([books[0], books[0]])  # the same name twice
    with pytest.raises(lanes.InvalidArgument, match="at least one document"):
        client.corpus([])
    with pytest.raises(lanes.InvalidArgument, match="mode 'fast'"):
        client.corpus(books, mode="fast")
    with pytest.raises(lanes.InvalidArgument, match=r"corpus\(\[path\]\) for one"):
        client.corpus(str(books[0]))  # one path, not a list: not its characters as documents
    with pytest.raises(lanes.InvalidArgument, match="document 0 must be a path .* not int"):
        client.corpus([3])
    with pytest.raises(lanes.InvalidArgument, match="'x.txt': its source must be a path .* not float"):
        client.corpus([("x.txt", 1.5)])
    with pytest.raises(lanes.InvalidArgument, match="zipf_words must be between"):
        client.corpus(books, zipf_words=-1)
    run = client.corpus(books[:1])
    with pytest.raises(lanes.FailedPrecondition, match="iterate the corpus call first"):
        run.zipf_csv_text()


def test_a_missing_or_unreadable_document_fails_alone(client, books, tmp_path):
    """One missing file used to fail the whole call before anything ran. Now it is that document's
    failed result, in the shape of a document the pool failed, and the others run."""
    p = books[BOOKS.index("pg99")]
    missing = tmp_path / "missing.txt"
    run = client.corpus([missing, p, ("folder.txt", tmp_path), ("bad.txt", b"\xff")], word_acf=False)
    docs = {d.name: d for d in run}
    assert sorted(docs) == ["bad.txt", "folder.txt", "missing.txt", "pg99.txt"]
    m = docs["missing.txt"]
    assert not m.ok and isinstance(m.error, lanes.FileNotFound) and isinstance(m.error, FileNotFoundError)
    assert m.error.code == grpc.StatusCode.NOT_FOUND and str(missing) in m.error.message
    assert m.word_count is None and m.word_acf is None and m.attempts == 0 and m.backend == ""
    f = docs["folder.txt"]
    assert isinstance(f.error, lanes.FileError) and f.error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert str(tmp_path) in f.error.message and "directory" in f.error.message
    bad = docs["bad.txt"]  # failed by the daemon: the same shape
    assert isinstance(bad.error, lanes.InvalidArgument) and bad.word_count is None
    assert docs["pg99.txt"].ok and docs["pg99.txt"].word_count.entries[0] == ("the", 712, 6.233038606320581)
    assert run.documents == 4 and run.failed == 3 and [b for b, _ in run.zipf] == ["pg99"]
    with pytest.raises(lanes.FileNotFound, match="missing.txt"):
        list(client.corpus([p, missing], raise_errors=True))


def test_a_document_gone_before_it_is_read_fails_alone(client, books, tmp_path):
    """A file there when corpus() checked it but gone when its turn to be sent comes."""
    p = books[BOOKS.index("pg58")]
    gone = tmp_path / "gone.txt"
    gone.write_bytes(b"a b")
    run = client.corpus([gone, p], word_acf=False)
    gone.unlink()
    docs = {d.name: d for d in run}
    assert isinstance(docs["gone.txt"].error, lanes.FileNotFound) and str(gone) in docs["gone.txt"].error.message
    assert docs["pg58.txt"].ok and docs["pg58.txt"].word_count.entries[0][:2] == ("the", 762)
    assert run.documents == 2 and run.failed == 1
    gone.write_bytes(b"a b")
    run = client.corpus([gone])
    gone.unlink()
    with pytest.raises(lanes.FileNotFound, match="gone.txt"):
        list(run)  # nothing could be read: the call fails


def test_nothing_readable_fails_the_call_with_a_clear_error(client, tmp_path):
    with pytest.raises(lanes.FileNotFound) as e:
        client.corpus([tmp_path / "missing.txt"])
    assert isinstance(e.value, FileNotFoundError) and f"'{tmp_path / 'missing.txt'}': no such file" in e.value.message
    with pytest.raises(lanes.FileNotFound, match="none of the 2 corpus documents can be read: .*a.txt.*b.txt"):
        client.corpus([tmp_path / "a.txt", ("b", str(tmp_path / "b.txt"))])
    with pytest.raises(lanes.FileError, match="none of the 2 corpus documents can be read: .*a.txt.*directory"):
        client.corpus([tmp_path / "a.txt", ("dir", tmp_path)])
    assert client.word_count(text="still serving").total == 2


def test_protocol_errors_fail_the_call(client):
    def call(msgs):
        try:
            list(client._stub.Corpus(iter(msgs), timeout=30))
        except grpc.RpcError as e:
            return e.code(), e.details()
        return grpc.StatusCode.OK, ""

    spec = lanes_pb2.CorpusRequest(spec=lanes_pb2.CorpusSpec(word_count=True))

    def piece(name, data, last):
        return lanes_pb2.CorpusRequest(doc=lanes_pb2.DocPiece(name=name, data=data, last=last))

    for msgs in ([spec, piece("a", b"x", True), piece("a", b"y", True)],   # a duplicate name
                 [spec, piece("", b"x", True)],                             # a document without a name
                 [piece("a", b"x", True)]):                                 # no spec first
        code, details = call(msgs)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and details, (msgs, code)
    assert call([spec, piece("a", b"x y", False), piece("", b" z", True)])[0] == grpc.StatusCode.OK


class GatedSource:
    """A binary file-like document whose first read waits (at most 60 s) until `gate` is set."""

    def __init__(self, data, gate):
        self.data, self.gate, self.pos, self.opened_in_time = data, gate, 0, None

    def read(self, n):
        if self.opened_in_time is None:
            self.opened_in_time = self.gate.wait(60)
        b = self.data[self.pos:self.pos + n]
        self.pos += len(b)
        return b


def test_results_arrive_while_documents_are_still_sent(client, books):
    """The last document is only read once a first result has come back: the call must stream both
    ways (a client or daemon that waited for every document first would wait out the gate's 60 s)."""
    data = books[BOOKS.index("pg99")].read_bytes()
    first_result = threading.Event()
    last = GatedSource(data, first_result)
    docs = [(f"d{i}.txt", data) for i in range(4)] + [("last.txt", last)]
    names = []
    for d in client.corpus(docs, word_acf=False):
        first_result.set()
        assert d.ok and d.word_count.entries[0][:2] == ("the", 712)
        names.append(d.name)
    assert sorted(names) == sorted(n for n, _ in docs)
    assert last.opened_in_time, "no result came back before the last document was sent"


def test_breaking_out_cancels_and_progress_bar(daemon, books, capsys):
    with lanes.Client(daemon.address, timeout=120) as c:
        for d in c.corpus(books * 1 + [(f"copy{i}.txt", books[0]) for i in range(10)], word_acf=False):
            break
        run = c.corpus(books[-2:], word_acf=False, progress=True)
        assert len(list(run)) == 2
        assert c.word_count(text="still serving").total == 2
    err = capsys.readouterr().err
    assert "corpus" in err and "2/2" in err


def test_corpus_from_threads(daemon, books):
    """Concurrent corpus calls share the pool; each gets its own documents."""
    small = [p for p in books if p.stem in SMALL_BOOKS]
    out, errs = {}, []

    def work(k):
        try:
            with lanes.Client(daemon.address, timeout=120) as c:
                out[k] = {d.name: d.word_count.total for d in c.corpus(small, word_acf=False)}
        except Exception as e:  # pragma: no cover - reported below
            errs.append(e)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errs, errs
    assert out[0] == out[1] == out[2] and out[0]["pg99.txt"] == 11423
