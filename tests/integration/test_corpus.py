"""The Corpus endpoint through the Python client: many documents in one call on the process pool.

Every document's .dat must equal the course script's, its CSV the exact numpy reference's (course and
exact modes), and the Zipf table the course's results.csv (scripts/course/zipf.py over the course's
.dat files). A bad document fails alone (its DocResult carries the status); results arrive while the
client is still sending; breaking out of the loop cancels the call and the daemon keeps serving.
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
        run = client.corpus([("bytes.txt", data), ("str.txt", data.decode("utf-8")), ("file.txt", f),
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
    assert client.word_count("still serving").total == 2


def test_client_side_errors(client, books, tmp_path):
    with pytest.raises(ValueError):
        client.corpus([books[0], books[0]])  # the same name twice
    with pytest.raises(FileNotFoundError):
        client.corpus([tmp_path / "missing.txt"])
    with pytest.raises(ValueError):
        client.corpus([])
    with pytest.raises(ValueError):
        client.corpus(books, mode="fast")


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
        assert c.word_count("still serving").total == 2
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
