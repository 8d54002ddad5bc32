"""WordCount and WordAcf against a real lanesd, with the course's own scripts as the reference.

The references live in scripts/course/: wordcount.py (the course's word count and .dat writer),
autocorrelation.py (the course's serial word ACF: slow, run on the smallest book only) and numpy_ref.py
(an exact numpy word ACF that equals the serial loop bit for bit in course mode). The client's writers
must produce the course's files byte for byte; the books are the course's seven Project Gutenberg
texts in ../shared/data/gutenberg (UTF-8, CRLF, most with a BOM that stays in the first word).
"""
import os
import sys

import numpy as np
import pytest

import lanes

from conftest import ROOT, SHARED_DATA

sys.path.insert(0, str(ROOT / "scripts" / "course"))
import autocorrelation as course_acf  # noqa: E402
import numpy_ref  # noqa: E402
import wordcount as course_wc  # noqa: E402

BOOKS_DIR = SHARED_DATA / "gutenberg"
BOOKS = ["pg105", "pg42", "pg45", "pg58", "pg65", "pg87", "pg99"]
SMALL_BOOKS = ["pg99", "pg58", "pg42"]


@pytest.fixture(scope="module")
def client(daemon):
    with lanes.Client(daemon.address, timeout=300) as c:
        yield c


def book(name):
    p = BOOKS_DIR / f"{name}.txt"
    assert p.exists(), f"{p} is missing (the course's books are in ../shared/data/gutenberg)"
    return p


def course_dat(path, out, min_length=1):
    course_wc.word_count(str(path), str(out), min_length)
    return out.read_bytes()


# ---- pinned lines of the course's files ----

def test_pinned_dat_lines(client, tmp_path):
    r = client.word_count(book("pg99"))
    r.write_dat(tmp_path / "pg99.dat")
    lines = (tmp_path / "pg99.dat").read_bytes().split(b"\n")
    assert lines[:3] == [b"the 712 6.233038606320581", b"of 416 3.6417753654906764", b"and 366 3.204061980215355"]
    assert r.entries[0] == ("the", 712, 6.233038606320581)
    assert r.total == sum(c for _, c, _ in r.entries) and r.distinct == len(r.entries)
    s = client.last_summary
    assert s and s["backend"]

    r58 = client.word_count(book("pg58"), top=2)
    assert [(w, c) for w, c, _ in r58.entries] == [("the", 762), ("and", 762)]  # a tie: first occurrence first

    r45 = client.word_count(book("pg45"), top=17)
    assert [(w, c) for w, c, _ in r45.entries[15:17]] == [("with", 837), ("be", 837)]
    a45 = client.word_acf(book("pg45"))
    assert len(a45.words) == 16 and a45.words[15] == "with" and "be" not in a45.words


def test_pinned_course_csv_rows(client, tmp_path):
    r = client.word_acf(book("pg99"), mode="course")
    r.write_csv(tmp_path / "pg99.csv")
    rows = (tmp_path / "pg99.csv").read_text().splitlines()
    assert len(rows) == 100
    assert rows[:3] == ["1.000000000000000000e+00,1.000000000000000000e+00",
                        "2.000000000000000000e+00,0.000000000000000000e+00",
                        "3.000000000000000000e+00,7.339029896867326451e-03"]
    assert rows[99] == "1.000000000000000000e+02,2.859623379265031559e-02"
    assert list(r.lags[:2]) == [1, 2] and r.words[:3] == ["the", "of", "and"] and r.counts[:3] == [712, 416, 366]


# ---- whole files against the course ----

@pytest.mark.parametrize("name", BOOKS)
def test_dat_equals_course_script(client, tmp_path, name):
    path = book(name)
    want = course_dat(path, tmp_path / "course.dat")
    client.word_count(str(path)).write_dat(tmp_path / "lanes.dat")
    assert (tmp_path / "lanes.dat").read_bytes() == want


@pytest.mark.parametrize("min_length", [3, 6])
def test_min_length_and_top_equal_course_filter(client, tmp_path, min_length):
    path = book("pg42")
    want = course_dat(path, tmp_path / "course.dat", min_length)
    r = client.word_count(path, min_length=min_length)
    r.write_dat(tmp_path / "lanes.dat")
    assert (tmp_path / "lanes.dat").read_bytes() == want
    top = client.word_count(path, min_length=min_length, top=5)
    assert top.entries == r.entries[:5] and top.total == r.total and top.distinct == r.distinct


def test_course_mode_equals_the_serial_course_script(client, tmp_path):
    """The course's own O(N*T) loop on the smallest book (about 10 s of Python)."""
    path = book("pg99")
    course_dat(path, tmp_path / "pg99.dat")
    words = course_acf.preprocess_text(course_wc.load_text(str(path)))
    top = [w[0] for w in course_wc.load_word_counts(str(tmp_path / "pg99.dat"))[:16]]
    course_acf.save_acf(str(tmp_path / "course.csv"), course_acf.ave_word_acf(top, words, 100))
    client.word_acf(path, mode="course").write_csv(tmp_path / "lanes.csv")
    assert (tmp_path / "lanes.csv").read_bytes() == (tmp_path / "course.csv").read_bytes()


@pytest.mark.parametrize("name", SMALL_BOOKS)
@pytest.mark.parametrize("mode", ["exact", "course"])
def test_word_acf_equals_numpy_reference(client, tmp_path, name, mode):
    path = book(name)
    words = numpy_ref.tokenize(numpy_ref.read_text(path))
    acf, top = numpy_ref.word_acf(words, mode=mode)
    r = client.word_acf(path, mode=mode)
    np.testing.assert_array_equal(r.acf, acf)
    assert r.words == [w for w, _ in top] and r.counts == [c for _, c in top]
    first = 1 if mode == "course" else 0
    assert list(r.lags) == list(range(first, first + 100))
    r.write_csv(tmp_path / "lanes.csv")
    assert (tmp_path / "lanes.csv").read_text() == numpy_ref.csv_text(acf, first)


@pytest.mark.parametrize("kw", [{"nwords": 1, "timesteps": 1}, {"nwords": 5, "timesteps": 300},
                                {"nwords": 40, "timesteps": 7, "min_length": 4},
                                {"nwords": 4096, "timesteps": 3}])
def test_word_acf_parameters(client, kw):
    path = book("pg58")
    words = numpy_ref.tokenize(numpy_ref.read_text(path))
    for mode in ("exact", "course"):
        acf, top = numpy_ref.word_acf(words, mode=mode, **kw)
        r = client.word_acf(path, mode=mode, **kw)
        np.testing.assert_array_equal(r.acf, acf)
        assert r.words == [w for w, _ in top]


# ---- sources, chunking and Unicode ----

UNICODE_TEXT = (
    "\ufeffThe BOM stays: \ufeffthe first word. a\u00a0b non\u00a0breaking c\u3000d e\u2028f g\x1ch i\x85j "
    "ÆSIR Æble æble ÉCOLE École Straße STRASSE İstanbul "
    "ΟΔΟΣ ΣΟΦΟΣ ΣΑΣ Σ ΑΣ’Α ΌΣΟΣ. ΣΙΣΥΦΟΣ, σίσυφος "
    "“Quoted” «guillemets» don’t don't it’s 3.14 3,14 1/2 e=mc2 #tag @user ~tilde_under+plus& "
    "zero\u200bwidth soft\u00adhyphen ﬁne ǅemal ǄEMAL ǆemal 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀 emoji😀word"
    "\r\nCRLF\rCR\nLF\t\ttabs  "
)


def reference_table(text, min_length=0):
    words = numpy_ref.tokenize(text)
    return [(w, c) for w, c in numpy_ref.word_table(words, min_length)]


def test_unicode_words_as_python(client):
    r = client.word_count(text=UNICODE_TEXT)
    got = [(w, c) for w, c, _ in r.entries]
    assert got == reference_table(UNICODE_TEXT)
    words = dict(got)
    assert words["\ufeffthe"] == 2 and "the" not in words  # the BOM stays in the word
    assert "\u03c3\u03b1\u03c2" in words and "\u03c3\u03bf\u03c6\u03bf\u03c2" in words  # σας, σοφος
    for w in ("a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "æsir", "æble", "école", "οδος", "σοφος",
              "σας", "σ", "ασ’α", "όσος", "σισυφος", "σίσυφος", "“quoted”", "don’t", "don", "t", "3",
              "14", "it’s", "i̇stanbul", "straße", "zero\u200bwidth", "ǆemal", "emoji😀word"):
        assert w in words, w
    assert words["3"] == 2 and words["14"] == 2 and words["ǆemal"] == 3
    assert "3.14" not in words and "don't" not in words


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 5, 7, 64])
def test_chunking_never_changes_the_result(daemon, client, chunk_bytes):
    """Chunks cut inside code points and words: the same table and the same ACF."""
    text = UNICODE_TEXT * 3
    want = client.word_count(text=text)
    want_acf = client.word_acf(text=text, nwords=8, timesteps=20)
    with lanes.Client(daemon.address, timeout=120, chunk_bytes=chunk_bytes) as c:
        assert c.word_count(text.encode("utf-8")).entries == want.entries
        got = c.word_acf(text=text, nwords=8, timesteps=20)
        np.testing.assert_array_equal(got.acf, want_acf.acf)
        assert got.words == want_acf.words


def test_sources_path_file_bytes_and_str(client, tmp_path):
    path = book("pg99")
    want = client.word_count(path).entries
    assert client.word_count(str(path)).entries == want
    with open(path, "rb") as f:
        assert client.word_count(f).entries == want
    data = path.read_bytes()
    assert client.word_count(data).entries == want
    assert client.word_count(text=data.decode("utf-8")).entries == want
    assert client.word_count(memoryview(data)).entries == want
    assert client.word_acf(str(path), mode="course").csv_text() == client.word_acf(data, mode="course").csv_text()


def test_empty_text(client):
    r = client.word_count(b"")
    assert r.entries == [] and r.total == 0
    r = client.word_count(text=" .,;: \r\n ")
    assert r.entries == [] and r.total == 0
    with pytest.raises(lanes.Error):
        client.word_acf(b"")


@pytest.mark.parametrize("data, offset", [
    (b"hello \xff world", 6),                      # a byte that never starts a sequence
    (b"caf\xc3\xa9 \x80 ok", 6),                    # a stray continuation byte
    (b"ab \xc0\xaf cd", 3),                         # an overlong '/'
    (b"abcd \xed\xa0\x80 x", 5),                    # a surrogate
    (b"x \xf4\x90\x80\x80", 2),                     # above U+10FFFF
    (b"the end \xe2\x82", 8),                       # cut by the end of the text
])
def test_invalid_utf8_names_the_byte_offset(daemon, client, data, offset):
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # Python's strict decoder rejects it too
    for c in (client, lanes.Client(daemon.address, timeout=60, chunk_bytes=3)):
        with pytest.raises(lanes.InvalidArgument) as e:
            c.word_count(data)
        assert f"byte {offset}" in e.value.message, e.value.message
        with pytest.raises(lanes.InvalidArgument) as e:
            c.word_acf(data)
        assert f"byte {offset}" in e.value.message, e.value.message
    assert client.word_count(text="still serving").total == 2


def test_big_offset_is_counted_across_chunks(daemon):
    data = ("word " * 300_000).encode() + b"\xff"
    with lanes.Client(daemon.address, timeout=60, chunk_bytes=65536) as c:
        with pytest.raises(lanes.InvalidArgument) as e:
            c.word_count(data)
    assert f"byte {len(data) - 1}" in e.value.message


def test_bad_word_acf_arguments(client):
    for kw, name in (({"nwords": 4097}, "nwords"), ({"timesteps": 100_001}, "timesteps")):
        with pytest.raises(lanes.InvalidArgument) as e:
            client.word_acf(text="a b c", **kw)
        assert name in e.value.message
    with pytest.raises(lanes.InvalidArgument, match="mode 'fast'"):
        client.word_acf(text="a b c", mode="fast")
    with pytest.raises(lanes.InvalidArgument, match="word_count source must be a path .* not int"):
        client.word_count(12345)


def test_example_word_count_lab_writes_the_course_files(daemon, tmp_path):
    import subprocess
    path = book("pg99")
    books = tmp_path / "books"
    books.mkdir()
    for name in ("pg99", "pg58"):
        (books / f"{name}.txt").write_bytes(book(name).read_bytes())
    r = subprocess.run([sys.executable, str(ROOT / "clients/python/examples/word_count_lab.py"), "--server",
                        daemon.address, "--books", str(books), "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "too many lags gets a clear error" in r.stdout and "done" in r.stdout
    assert "a path that names no file: word_count source 'no-such-book.txt': no such file" in r.stdout
    assert "a text goes by text=: [('to', 2, 33.33333333333333), ('be', 2, 33.33333333333333)]" in r.stdout
    assert (tmp_path / "out" / "pg99.dat").read_bytes() == course_dat(path, tmp_path / "course.dat")
    rows = (tmp_path / "out" / "pg99.csv").read_text().splitlines()
    assert rows[2] == "3.000000000000000000e+00,7.339029896867326451e-03"
    zipf = (tmp_path / "out" / "results.csv").read_text().splitlines()
    assert zipf[0] == "Book," + ",".join(f"word{i}" for i in range(1, 11))
    assert sorted(zipf[1:]) == ["pg58,762,762,560,555,301,244,224,200,195,184",
                                "pg99,712,416,366,326,235,229,174,126,116,112"]


def test_unary_twins_and_streams_agree(daemon):
    """A text of one message goes through WordCountOnce / WordAcfOnce; a longer one (here: a client
    with 4 KiB chunks) through the streams. Same answers, and the summaries show which ran."""
    data = book("pg99").read_bytes()
    with lanes.Client(daemon.address) as one, lanes.Client(daemon.address, chunk_bytes=4096) as many:
        a, b = one.word_count(data), many.word_count(data)
        assert a.dat_text() == b.dat_text()
        assert int(a.summary["chunks"]) == 1 and int(b.summary["chunks"]) == -(-len(data) // 4096)
        a, b = one.word_acf(data, mode="course"), many.word_acf(data, mode="course")
        assert a.csv_text() == b.csv_text()
        assert int(a.summary["chunks"]) == 1 and int(b.summary["chunks"]) > 1
        with pytest.raises(lanes.InvalidArgument, match="invalid UTF-8 at byte 2"):
            one.word_acf(b"ab\xff")
        with pytest.raises(lanes.InvalidArgument, match="invalid UTF-8 at byte 2"):
            one.word_count(b"ab\xff")
        assert one.word_count(b"").total == 0


# ---- explicit sources: a str is a path, a text goes by text= ----

@pytest.mark.parametrize("call", ["word_count", "word_acf"])
def test_a_missing_path_is_file_not_found_never_its_words(client, tmp_path, monkeypatch, call):
    """The README's c.word_count("pg99.txt") run outside the books' folder counted the words 'pg99'
    and 'txt' of the path itself. A str is always a path: a missing one is FileNotFound naming it."""
    fn = getattr(client, call)
    missing = tmp_path / "pg99.txt"
    for src in ("pg99.txt", str(missing), missing):
        with pytest.raises(lanes.FileNotFound) as e:
            fn(src)
        assert isinstance(e.value, FileNotFoundError) and isinstance(e.value, lanes.Error)
        assert e.value.code.name == "NOT_FOUND" and e.value.filename == os.fspath(src)
        assert repr(str(src)) in e.value.message and "no such file" in e.value.message
    with pytest.raises(lanes.FileError) as e:  # a folder: an OSError naming it, not its name's words
        fn(str(tmp_path))
    assert isinstance(e.value, OSError) and str(tmp_path) in e.value.message
    monkeypatch.chdir(BOOKS_DIR)  # the same relative path where the book is: read as the file
    want = client.word_count(BOOKS_DIR / "pg99.txt")
    if call == "word_count":
        assert fn("pg99.txt").entries == want.entries and want.entries[0] == ("the", 712, 6.233038606320581)
    else:
        assert fn("pg99.txt").words == [w for w, _, _ in want.entries[:16]]


def test_text_is_passed_explicitly(client):
    r = client.word_count(text="pg99.txt")  # explicitly a text: its words
    assert [(w, c) for w, c, _ in r.entries] == [("pg99", 1), ("txt", 1)]
    assert client.word_acf(text="a b a b", nwords=1, timesteps=3).acf.tolist() == [1.0, 0.0, 0.5]
    for kw, msg in (({"source": b"a", "text": "a"}, "not both"), ({}, "needs a source"),
                    ({"text": b"a b"}, "takes a str, not bytes")):
        with pytest.raises(lanes.InvalidArgument, match=msg):
            client.word_count(**kw)
    with pytest.raises(lanes.InvalidArgument, match="character 2 is '\\\\udc80'"):
        client.word_count(text="ab\udc80")


def test_source_read_errors_are_lanes_errors(client, tmp_path):
    class Broken:
        name = "broken.txt"

        def read(self, n):
            raise OSError(5, "Input/output error")

    with pytest.raises(lanes.FileError, match="'broken.txt' could not be read: Input/output error") as e:
        client.word_count(Broken())
    assert isinstance(e.value, OSError) and e.value.errno == 5
    p = tmp_path / "t.txt"
    p.write_text("a b")
    with open(p, "r") as f, pytest.raises(lanes.InvalidArgument, match="binary mode"):
        client.word_acf(f)
    assert client.word_count(text="still serving").total == 2


def test_writing_a_result_to_a_bad_path_is_a_lanes_error(client, tmp_path):
    r = client.word_count(text="a b a")
    w = client.word_acf(text="a b a", nwords=1, timesteps=2)
    for write in (r.write_dat, w.write_csv):
        with pytest.raises(lanes.FileError, match="cannot be written") as e:
            write(tmp_path / "no-such-folder" / "out")
        assert isinstance(e.value, OSError) and "no-such-folder" in e.value.message
    r.write_dat(tmp_path / "a.dat")
    assert (tmp_path / "a.dat").read_text() == "a 2 66.66666666666666\nb 1 33.33333333333333\n"
