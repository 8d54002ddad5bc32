#!/usr/bin/env python3
"""The parallel-Python course's word-count project, with lanes doing the work.

The course counts the words of each book (a .dat file), computes the autocorrelation of its 16 most
frequent words (a .csv file, with a serial Python loop that takes minutes per book) and collects the
counts of each book's top 10 words in results.csv (Zipf's law). Here the books go to a running lanesd
in one corpus call, which sends each book's results as soon as it is done; without the Corpus endpoint
(an older daemon) the script falls back to one word_count and one word_acf call per book. The files
written are the course's own, byte for byte. It also shows statsmodels' acf on a numeric series.

    scripts/run-lanesd.sh &                         # in another terminal
    .venv/bin/python clients/python/examples/word_count_lab.py [--server 127.0.0.1:50051]
        [--books ../shared/data/gutenberg] [--out results/] [--mode course|exact]
"""
import argparse
import time
from pathlib import Path

import numpy as np

import lanes

ROOT = Path(__file__).resolve().parents[3]


def per_book(c, books, out, mode):
    """One word_count and one word_acf call per book: results as [(book, counts)] for the Zipf table."""
    zipf = []
    for path in books:
        wc = c.word_count(path)
        wc.write_dat(out / f"{path.stem}.dat")
        c.word_acf(path, mode=mode).write_csv(out / f"{path.stem}.csv")
        zipf.append((path.stem, [n for _, n, _ in wc.entries[:10]]))
        print(f"{path.name}: {wc.total} words, top {wc.entries[0][0]!r} ({wc.entries[0][1]})")
    (out / "results.csv").write_text(lanes.text.zipf_csv_text(zipf, 10))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default=lanes.DEFAULT_ADDRESS)
    ap.add_argument("--books", default=str(ROOT.parent / "shared" / "data" / "gutenberg"))
    ap.add_argument("--out", default="results")
    ap.add_argument("--mode", choices=["course", "exact"], default="course")
    ap.add_argument("--progress", action="store_true", help="a progress bar for the corpus call")
    args = ap.parse_args()
    books = sorted(Path(args.books).glob("*.txt"))
    if not books:
        raise SystemExit(f"no .txt books in {args.books}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    with lanes.Client(args.server) as c:
        t = time.perf_counter()
        try:
            run = c.corpus(books, mode=args.mode, progress=args.progress)
            for doc in run:  # as each book finishes
                if not doc.ok:
                    print(f"{doc.name}: failed: {doc.error}")
                    continue
                stem = Path(doc.name).stem
                doc.word_count.write_dat(out / f"{stem}.dat")
                doc.word_acf.write_csv(out / f"{stem}.csv")
                top = doc.word_count.entries[0]
                print(f"{doc.name}: {doc.word_count.total} words, top {top[0]!r} ({top[1]}), on {doc.backend}")
            run.write_zipf(out / "results.csv")
        except lanes.Unimplemented:
            print("(this daemon has no Corpus endpoint: one call per book)")
            per_book(c, books, out, args.mode)
        print(f"{len(books)} books in {time.perf_counter() - t:.2f} s; files in {out}/")

        x = np.cumsum(np.random.default_rng(1).normal(size=1_000_000))  # a random walk
        r, confint, q, p = c.acf(x, nlags=20, alpha=0.05, qstat=True)   # statsmodels' layout
        print(f"random walk: acf[1] = {r[1]:.4f}, 95% interval [{confint[1, 0]:.4f}, {confint[1, 1]:.4f}], "
              f"Ljung-Box Q(20) = {q[-1]:.0f} (p = {p[-1]:.2g})")
        try:
            c.acf(x[:10], nlags=50)
        except lanes.InvalidArgument as e:
            print("too many lags gets a clear error:", e.message)
        try:
            c.word_count("no-such-book.txt")              # a str is a path, never a text
        except lanes.FileNotFound as e:
            print("a path that names no file:", e.message)
        print("a text goes by text=:", c.word_count(text="to be or not to be").entries[:2])
    print("done")


if __name__ == "__main__":
    main()
