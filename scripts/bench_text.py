#!/usr/bin/env python3
"""Text and ACF benchmark (not a test): the word-count course's jobs three ways, and a numeric ACF.

One run measures, on the course's seven books (../shared/data/gutenberg) and against one daemon:
  - serial: the course's own Python (scripts/course/autocorrelation.py: tokenize, then the O(N*T) mask
    loop for each of the 16 top words), course mode, on the books of at most --serial-max-words words
    only (it runs at about 2-5 million loop steps a second: minutes on the big books);
  - numpy: the exact numpy implementation (scripts/course/numpy_ref.py), course mode;
  - lanes: client.word_acf(path, mode="course") and client.word_count(path) through the service,
    including the client's formatting of the course's .csv / .dat text, and the corpus call over all
    the books when the daemon has it.
Every column is end to end from the book's path to the file's text (reading and tokenizing included);
the numpy and lanes columns are medians of --repeat rounds in which they take turns, the serial column
is one run. Results are checked equal (the CSV text of all three; the .dat text of numpy and lanes).
Then the numeric ACF of n = 1e7 float64 values: lanes client.acf(x) against statsmodels' acf(x,
fft=True), default nlags (statsmodels' min(10*log10(n), n-1)) and nlags 1000.

Usage: .venv/bin/python scripts/bench_text.py [--server HOST:PORT] [--repeat 5] [--serial-max-words 30000]
       [--acf-n 1e7]. Without --server it starts build/service/lanesd on a free port.
Timings on a 2-core shared machine are noisy: compare the ratios of one run.
"""
import argparse
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

import lanes

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "scripts" / "course"))
import autocorrelation as course_acf  # noqa: E402
import numpy_ref  # noqa: E402
import wordcount as course_wc  # noqa: E402
from bench import interleaved_medians, start_daemon  # noqa: E402

BOOKS = ["pg99", "pg58", "pg42", "pg105", "pg45", "pg65", "pg87"]
NWORDS, T = 16, 100


def serial_csv(path):
    """The course's pipeline: word count (for the top words), tokenize, the serial loop, the CSV text."""
    lines = course_wc.load_text(str(path))
    table = course_wc.word_count_dict_to_tuples(course_wc.calculate_word_counts(lines))
    top = [w for w, _ in table[:NWORDS]]
    acf = course_acf.ave_word_acf(top, course_acf.preprocess_text(lines), T)
    return numpy_ref.csv_text(acf, 1)


def numpy_csv(path):
    acf, _ = numpy_ref.word_acf(numpy_ref.tokenize(numpy_ref.read_text(path)), NWORDS, T, "course")
    return numpy_ref.csv_text(acf, 1)


def numpy_dat(path):
    return numpy_ref.dat_lines(numpy_ref.word_table(numpy_ref.tokenize(numpy_ref.read_text(path))))


def text_bench(c, paths, repeat, serial_max_words):
    rows = []
    for name, path in paths.items():
        nwords = len(numpy_ref.tokenize(numpy_ref.read_text(path)))
        out = {}

        def run(key, fn):
            def f():
                out[key] = fn()
            return f

        t = interleaved_medians(repeat, {
            "numpy_acf": run("numpy_acf", lambda: numpy_csv(path)),
            "lanes_acf": run("lanes_acf", lambda: c.word_acf(path, NWORDS, T, mode="course").csv_text()),
            "numpy_wc": run("numpy_wc", lambda: numpy_dat(path)),
            "lanes_wc": run("lanes_wc", lambda: c.word_count(path).dat_text()),
        })
        if out["numpy_acf"] != out["lanes_acf"] or out["numpy_wc"] != out["lanes_wc"]:
            raise SystemExit(f"{name}: lanes and numpy disagree")
        serial = None
        if nwords <= serial_max_words:
            t0 = time.perf_counter()
            csv = serial_csv(path)
            serial = time.perf_counter() - t0
            if csv != out["lanes_acf"]:
                raise SystemExit(f"{name}: lanes and the course's serial loop disagree")
        rows.append({"book": name, "words": nwords, "serial_acf": serial, **t})
        print(f"  {name}: {nwords} words done", file=sys.stderr)
    return rows


def corpus_bench(c, paths, repeat):
    """The corpus call over every book (word count and word ACF of each), or None without Corpus."""
    def run():
        docs = list(c.corpus([str(p) for p in paths.values()], word_count=True, word_acf=True, mode="course"))
        for d in docs:
            if not d.ok:
                raise SystemExit(f"corpus: {d.name} failed: {d.error}")
            d.word_count.dat_text()
            d.word_acf.csv_text()
    try:
        run()
    except lanes.Unimplemented:
        return None
    return interleaved_medians(repeat, {"corpus": run})["corpus"]


def acf_bench(c, n, repeat):
    from statsmodels.tsa.stattools import acf as sm_acf
    x = np.cumsum(np.random.default_rng(3).normal(size=n)) * 1e-3 + np.random.default_rng(4).normal(size=n)
    rows = []
    for nlags in (None, 1000):
        kw = {} if nlags is None else {"nlags": nlags}
        res = {}
        t = interleaved_medians(repeat, {
            "lanes": lambda: res.__setitem__("lanes", c.acf(x, **kw)),
            "statsmodels": lambda: res.__setitem__("sm", sm_acf(x, fft=True, **kw)),
        })
        err = float(np.max(np.abs(res["lanes"] - res["sm"])))
        rows.append({"n": n, "nlags": res["lanes"].size - 1, "lanes": t["lanes"], "statsmodels": t["statsmodels"],
                     "max_abs_diff": err})
    return rows


def ratio(a, b):
    return "-" if a is None or b is None else f"{a / b:.0f}x" if a / b >= 100 else f"{a / b:.1f}x"


def ms(v):
    return "-" if v is None else f"{v * 1e3:.0f}" if v >= 0.1 else f"{v * 1e3:.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server")
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--books", default=str(ROOT.parent / "shared" / "data" / "gutenberg"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--serial-max-words", type=int, default=30_000)
    ap.add_argument("--acf-n", type=float, default=1e7)
    args = ap.parse_args()
    paths = {b: Path(args.books) / f"{b}.txt" for b in BOOKS if (Path(args.books) / f"{b}.txt").exists()}
    if not paths:
        raise SystemExit(f"no books in {args.books}")
    proc, address = None, args.server
    if not address:
        proc, address = start_daemon(Path(args.build))
    try:
        with lanes.Client(address, timeout=3600) as c:
            rows = text_bench(c, paths, args.repeat, args.serial_max_words)
            t_corpus = corpus_bench(c, paths, args.repeat)
            acf_rows = acf_bench(c, int(args.acf_n), args.repeat)
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)

    load = os.getloadavg()[0]
    print(f"lanes text benchmark, {os.cpu_count()} CPUs, load average {load:.1f}, daemon {address}")
    print(f"word ACF (course mode, {NWORDS} words, T={T}) and word count, end to end from the book's path to "
          f"the file's text; times in ms; serial only for books of at most {args.serial_max_words} words\n")
    print("| book | words | serial ACF | numpy ACF | lanes ACF | lanes vs serial | lanes vs numpy | "
          "numpy count | lanes count | lanes vs numpy |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['book']} | {r['words']} | {ms(r['serial_acf'])} | {ms(r['numpy_acf'])} | {ms(r['lanes_acf'])} | "
              f"{ratio(r['serial_acf'], r['lanes_acf'])} | {ratio(r['numpy_acf'], r['lanes_acf'])} | "
              f"{ms(r['numpy_wc'])} | {ms(r['lanes_wc'])} | {ratio(r['numpy_wc'], r['lanes_wc'])} |")
    tot = {k: sum(r[k] for r in rows) for k in ("numpy_acf", "lanes_acf", "numpy_wc", "lanes_wc")}
    print(f"| all {len(rows)} | {sum(r['words'] for r in rows)} | - | {ms(tot['numpy_acf'])} | "
          f"{ms(tot['lanes_acf'])} | - | "
          f"{ratio(tot['numpy_acf'], tot['lanes_acf'])} | {ms(tot['numpy_wc'])} | {ms(tot['lanes_wc'])} | "
          f"{ratio(tot['numpy_wc'], tot['lanes_wc'])} |")
    numpy_both = tot["numpy_acf"] + tot["numpy_wc"]
    if t_corpus is None:
        print("\ncorpus: the daemon has no Corpus endpoint yet")
    else:
        print(f"\ncorpus call (all {len(rows)} books, word count and word ACF each): {ms(t_corpus)} ms; numpy "
              f"for the same, one book after another: {ms(numpy_both)} ms ({ratio(numpy_both, t_corpus)}); lanes "
              f"word_count + word_acf one book after another: {ms(tot['lanes_acf'] + tot['lanes_wc'])} ms")
    print("\n| ACF n | nlags | lanes ms | statsmodels fft ms | lanes vs statsmodels | max abs diff |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in acf_rows:
        print(f"| {r['n']:.0e} | {r['nlags']} | {ms(r['lanes'])} | {ms(r['statsmodels'])} | "
              f"{ratio(r['statsmodels'], r['lanes'])} | {r['max_abs_diff']:.1e} |")


if __name__ == "__main__":
    main()
