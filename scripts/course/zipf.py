#!/usr/bin/env python3
"""The course's Zipf table: for each book's word counts (.dat), the counts of its most frequent words,
one CSV row per book (a reference for the Zipf table lanes' Corpus call sends at its end).

Design: each .dat file is read back with the word count's loader; the row is the book's name (the
file's name without its extension) and the first ZIPF_WORDS counts, in rank order. The header is
"Book,word1,...,word10".

Usage: python scripts/course/zipf.py OUT.csv BOOK1.dat [BOOK2.dat ...]
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wordcount import load_word_counts  # noqa: E402

ZIPF_WORDS = 10


def top_n_counts(counts, n=ZIPF_WORDS):
    """The counts of the first n (word, count, percentage) tuples."""
    return [count for (_, count, _) in counts[:n]]


def zipf_table(input_files, output_file, n=ZIPF_WORDS):
    """Writes the Zipf table of several .dat files to output_file (CSV)."""
    with open(output_file, "w", encoding="utf-8") as out:
        out.write(",".join(["Book"] + [f"word{i}" for i in range(1, n + 1)]) + "\n")
        for input_file in input_files:
            counts = load_word_counts(input_file)
            book = Path(input_file).stem
            out.write(",".join([book] + [str(c) for c in top_n_counts(counts, n)]) + "\n")


if __name__ == "__main__":
    zipf_table(sys.argv[2:], sys.argv[1])
