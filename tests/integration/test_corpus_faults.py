"""Corpus on the process pool, driven through the raw protocol: faults of workers and documents.

A worker killed mid-document (kill -9 of the daemon's own worker process), a worker over its memory
limit, garbage and empty documents: each fails (or retries) only its own document with a clear status,
the pool respawns the worker, and the other documents and calls carry on. References are exact: the
word counts of a book repeated k times are k times the book's counts (from the daemon's WordCount,
itself checked byte for byte against the course elsewhere).
"""
import os
import signal
import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

import lanes
from conftest import LANESD_TEST, wait_for
from lanes.v1 import lanes_pb2, lanes_pb2_grpc

GUTENBERG = Path(__file__).resolve().parents[3] / "shared" / "data" / "gutenberg"
PIECE = 1 << 20


def book_bytes(name):
    path = GUTENBERG / name
    assert path.exists(), f"{path} is missing: the tests need ../shared/data beside the checkout"
    return path.read_bytes()


def corpus_requests(docs, **spec):
    spec.setdefault("word_count", True)
    yield lanes_pb2.CorpusRequest(spec=lanes_pb2.CorpusSpec(**spec))
    for name, data in docs:
        if not data:
            yield lanes_pb2.CorpusRequest(doc=lanes_pb2.DocPiece(name=name, last=True))
        for i in range(0, len(data), PIECE):
            yield lanes_pb2.CorpusRequest(doc=lanes_pb2.DocPiece(name=name if i == 0 else "", data=data[i:i + PIECE],
                                                                 last=i + PIECE >= len(data)))


def run_corpus(stub, docs, **spec):
    """Returns ({name: result dict}, CorpusDone)."""
    results, done = {}, None
    for r in stub.Corpus(corpus_requests(docs, **spec), timeout=300):
        if r.HasField("done"):
            done = r.done
            continue
        d = r.doc
        res = results.setdefault(d.name, {"words": [], "counts": []})
        res["words"] += d.counts.words
        res["counts"] += d.counts.counts
        if d.done:
            res.update(status=d.status, error=d.error, total=d.total_words, attempts=d.attempts,
                       backend=d.backend, acf=np.frombuffer(d.acf, dtype="<f8"))
    return results, done


def word_count(stub, data):
    reqs = [lanes_pb2.WordCountRequest(spec=lanes_pb2.WordCountSpec())]
    reqs += [lanes_pb2.WordCountRequest(chunk=lanes_pb2.Chunk(arrays=[data[i:i + PIECE]]))
             for i in range(0, len(data), PIECE)]
    words, counts = [], []
    for r in stub.WordCount(iter(reqs)):
        if r.HasField("counts"):
            words += r.counts.words
            counts += r.counts.counts
    return words, counts


def worker_pids(daemon):
    """The daemon's process-pool workers: its children, less any GPU worker (which a CUDA build starts
    on a machine with a device: killing it is not what these tests are about)."""
    pid = daemon.proc.pid
    # every thread's children: respawned workers are the children of the pool's own thread
    children = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children.update((task / "children").read_text().split())
        except FileNotFoundError:
            pass  # the thread has just ended
    pids = []
    for c in sorted(children, key=int):
        try:
            cmdline = Path(f"/proc/{c}/cmdline").read_bytes()
        except FileNotFoundError:
            continue  # it has just exited
        if b"--gpu-worker" not in cmdline:
            pids.append(int(c))
    return pids


def pool_detail(stub):
    info = stub.Info(lanes_pb2.InfoRequest())
    return next(b for b in info.backends if b.name == "process-pool")


class PausedWorkers:
    """lanesd-test's LANES_TEST_WORKER_PAUSE_FILE: while the file exists, a worker that got a document
    says so (PATH.busy) and waits, so a test kills a worker that is certainly mid-document."""

    def __init__(self, tmp_path):
        self.path = tmp_path / "pause"
        self.busy = tmp_path / "pause.busy"
        self.path.write_text("")
        self.env = {"LANES_TEST_WORKER_PAUSE_FILE": str(self.path)}

    def wait_busy(self):
        wait_for(self.busy.exists, "a worker paused on its document")
        self.busy.unlink()

    def release(self):
        if self.path.exists():
            self.path.unlink()


@pytest.fixture(scope="module")
def big():
    """pg87 repeated 20 times (53 MB): a quarter of a second of work for a worker."""
    return book_bytes("pg87.txt") * 20


def expected_counts(stub, data, k):
    words, counts = word_count(stub, data)
    return words, [c * k for c in counts]


@pytest.mark.parametrize("retries", [1, 0])
def test_a_worker_killed_mid_document(start_daemon, big, retries, tmp_path):
    # one worker: the kill hits the document's worker, and the retry runs on its replacement
    pause = PausedWorkers(tmp_path)
    d = start_daemon("--proc-workers", "1", "--worker-retries", str(retries), env=pause.env, binary=LANESD_TEST)
    with grpc.insecure_channel(d.address) as ch:
        stub = lanes_pb2_grpc.LanesStub(ch)
        pids_before = set(worker_pids(d))
        out = {}
        runner = threading.Thread(target=lambda: out.update(r=run_corpus(stub, [("big.txt", big)])))
        runner.start()
        try:
            pause.wait_busy()
            victims = worker_pids(d)
            assert len(victims) == 1
            os.kill(victims[0], signal.SIGKILL)  # paused on its document: certainly mid-document
            pause.release()  # the replacement (with a retry) computes at once
        finally:
            pause.release()
            runner.join(120)
        results, done = out["r"]
        r = results["big.txt"]
        if retries:
            assert r["status"] == 0, r["error"]
            assert r["attempts"] == 2
            words, counts = expected_counts(stub, book_bytes("pg87.txt"), 20)
            assert r["words"] == words and r["counts"] == counts
            assert done.failed == 0
        else:
            assert r["status"] == grpc.StatusCode.INTERNAL.value[0]
            assert "was killed by signal 9 (SIGKILL) while running document 'big.txt'" in r["error"], r["error"]
            assert done.failed == 1 and len(done.zipf) == 0
        # the pool respawned its workers, and the next corpus works
        wait_for(lambda: " 1 ready" in pool_detail(stub).detail,
                 lambda: f"a ready worker again: {pool_detail(stub).detail}")
        assert worker_pids(d) and set(worker_pids(d)).isdisjoint(pids_before)
        results, done = run_corpus(stub, [("pg99.txt", book_bytes("pg99.txt"))])
        assert results["pg99.txt"]["status"] == 0 and results["pg99.txt"]["counts"][:3] == [712, 416, 366]


def test_other_documents_and_calls_carry_on_while_workers_die(start_daemon, big, tmp_path):
    # Two workers, each paused on its document, one killed: its document fails with a clear status,
    # the other document, the maps running meanwhile and later corpora are exact.
    pause = PausedWorkers(tmp_path)
    d = start_daemon("--proc-workers", "2", "--worker-retries", "0", env=pause.env, binary=LANESD_TEST)
    with grpc.insecure_channel(d.address) as ch, lanes.Client(d.address) as client:
        stub = lanes_pb2_grpc.LanesStub(ch)
        out = {}
        runner = threading.Thread(
            target=lambda: out.update(r=run_corpus(stub, [("big1.txt", big), ("big2.txt", big)])))
        runner.start()
        map_ok = []
        try:
            wait_for(lambda: " 2 busy" in pool_detail(stub).detail, lambda: f"two busy: {pool_detail(stub).detail}")
            x = np.arange(100_000.0)
            for _ in range(5):
                map_ok.append(np.array_equal(client.map("square", x), x * x))
            victim = worker_pids(d)[0]
            os.kill(victim, signal.SIGKILL)
            wait_for(lambda: victim not in worker_pids(d), "the killed worker to be reaped")
            for _ in range(5):
                map_ok.append(np.array_equal(client.map("square", x), x * x))
            pause.release()
        finally:
            pause.release()
            runner.join(120)
        results, done = out["r"]
        words, counts = expected_counts(stub, book_bytes("pg87.txt"), 20)
        statuses = sorted(results[n]["status"] for n in ("big1.txt", "big2.txt"))
        assert statuses == [0, grpc.StatusCode.INTERNAL.value[0]], statuses
        for name in ("big1.txt", "big2.txt"):
            r = results[name]
            if r["status"] == 0:
                assert r["words"] == words and r["counts"] == counts
            else:
                assert f"while running document '{name}'" in r["error"]
                assert "was killed by signal 9 (SIGKILL)" in r["error"]
        assert done.failed == 1
        assert map_ok and all(map_ok)
        # afterwards, small documents all succeed
        books = [(n, book_bytes(n)) for n in ("pg99.txt", "pg58.txt", "pg42.txt")]
        results, done = run_corpus(stub, books, word_acf=True)
        assert done.failed == 0 and [z.book for z in done.zipf] == ["pg99", "pg58", "pg42"]
        for name, data in books:
            words, counts = word_count(stub, data)
            assert results[name]["words"] == words and results[name]["counts"] == counts


def test_a_worker_over_its_memory_limit(start_daemon):
    d = start_daemon("--proc-workers", "1", "--worker-memory-mb", "64")
    with grpc.insecure_channel(d.address) as ch:
        stub = lanes_pb2_grpc.LanesStub(ch)
        if "under AddressSanitizer" in pool_detail(stub).detail:
            pytest.skip("RLIMIT_AS cannot be enforced under AddressSanitizer (its shadow memory)")
        # 3 million distinct words need far more than 64 MiB of word table
        many = " ".join(f"w{i}" for i in range(3_000_000)).encode()
        docs = [("many.txt", many), ("pg99.txt", book_bytes("pg99.txt"))]
        results, done = run_corpus(stub, docs)
        r = results["many.txt"]
        assert r["status"] == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
        assert "document 'many.txt': worker over its memory limit of 64 MiB" in r["error"], r["error"]
        assert r["attempts"] == 1  # deterministic: not retried
        assert results["pg99.txt"]["status"] == 0
        assert [z.book for z in done.zipf] == ["pg99"] and done.failed == 1


def test_garbage_empty_and_non_utf8_documents(daemon):
    rng = np.random.default_rng(7)
    docs = [("garbage.bin", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()),
            ("empty.txt", b""),
            ("latin1.txt", "café olé".encode("latin-1")),
            ("nul.txt", b"a\x00b a\x00b c"),
            ("pg58.txt", book_bytes("pg58.txt"))]
    with grpc.insecure_channel(daemon.address) as ch:
        stub = lanes_pb2_grpc.LanesStub(ch)
        results, done = run_corpus(stub, docs)
        assert results["garbage.bin"]["status"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
        assert "document 'garbage.bin': invalid UTF-8 at byte" in results["garbage.bin"]["error"]
        assert results["latin1.txt"]["status"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
        assert "invalid UTF-8 at byte 3" in results["latin1.txt"]["error"]
        assert results["empty.txt"]["status"] == 0 and results["empty.txt"]["total"] == 0
        assert results["empty.txt"]["words"] == []
        # U+0000 stays inside a word (it is not whitespace for str.split), and survives the wire
        assert results["nul.txt"]["words"] == ["a\x00b", "c"] and results["nul.txt"]["counts"] == [2, 1]
        assert results["pg58.txt"]["counts"][:2] == [762, 762] and results["pg58.txt"]["words"][:2] == ["the", "and"]
        assert done.documents == 5 and done.failed == 2
        # an ACF of a document without words fails that document only
        results, done = run_corpus(stub, [("empty.txt", b""), ("pg99.txt", book_bytes("pg99.txt"))],
                                   word_acf=True, mode=lanes_pb2.WordAcfSpec.COURSE)
        assert "has no words" in results["empty.txt"]["error"]
        assert results["pg99.txt"]["status"] == 0
        assert "%.18e" % results["pg99.txt"]["acf"][2] == "7.339029896867326451e-03"


def test_a_document_over_max_doc_bytes_fails_alone(start_daemon):
    d = start_daemon("--max-doc-bytes", "100000")
    with grpc.insecure_channel(d.address) as ch:
        stub = lanes_pb2_grpc.LanesStub(ch)
        docs = [("big.txt", b"word " * 30000), ("pg99.txt", book_bytes("pg99.txt")[:90000])]
        results, done = run_corpus(stub, docs)
        assert results["big.txt"]["status"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
        assert "larger than the maximum of 100000 bytes" in results["big.txt"]["error"]
        assert results["pg99.txt"]["status"] == 0 and done.failed == 1


def test_pool_off_is_a_clear_error(start_daemon):
    d = start_daemon("--proc-workers", "0")
    with grpc.insecure_channel(d.address) as ch:
        stub = lanes_pb2_grpc.LanesStub(ch)
        with pytest.raises(grpc.RpcError) as e:
            run_corpus(stub, [("a.txt", b"a b")])
        assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "process pool is not running" in e.value.details()
        assert pool_detail(stub).available is False
