#!/usr/bin/env python3
"""The course's word autocorrelation, as the parallel-Python course's word-count project writes it: the
serial O(N*T) loop per word (a reference for lanes' WordAcf in course mode, and the benchmark's
"serial" baseline; slow on purpose).

Design: the book becomes one list of words (the word count's tokenizer). For each of the top words
(read from the book's .dat file) a mask marks its positions; acf[t] counts the positions i, from 1
(the course's loop starts there) to N - t - 1, where the word is at i and at i + t, divided by the
word's count. The words' functions are averaged and saved as "lag,value" rows, lags labelled 1 .. T,
with numpy.savetxt's default format %.18e.

Usage: python scripts/course/autocorrelation.py BOOK.txt BOOK.dat OUT.csv
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wordcount import DELIMITERS, load_text, load_word_counts  # noqa: E402


def preprocess_text(text):
    """All the words of a list of lines, in order: delimiters removed, split, lower-cased."""
    clean_text = []
    for line in text:
        for purge in DELIMITERS:
            line = line.replace(purge, " ")
        words = line.split()
        for word in words:
            word = word.lower().strip()
            clean_text.append(word)
    return clean_text


def word_acf(word, text, timesteps):
    """The autocorrelation of one word in a list of words, each word one time step."""
    acf = np.zeros((timesteps,))
    mask = [w == word for w in text]
    nwords_chosen = np.sum(mask)
    nwords_total = len(text)
    for t in range(timesteps):
        for i in range(1, nwords_total - t):
            acf[t] += mask[i] * mask[i + t]
        acf[t] /= nwords_chosen
    return acf


def ave_word_acf(words, text, timesteps=100):
    """The average of the autocorrelations of several words."""
    acf = np.zeros((len(words), timesteps))
    for n, word in enumerate(words):
        acf[n, :] = word_acf(word, text, timesteps)
    return np.average(acf, axis=0)


def save_acf(output, acf):
    """Writes acf as "lag,value" rows, lags 1 .. T, as numpy.savetxt does by default."""
    timesteps = len(acf)
    np.savetxt(output, np.vstack((np.arange(1, timesteps + 1), acf)).T, delimiter=",")


if __name__ == "__main__":
    book = sys.argv[1]
    wc_file = sys.argv[2]
    output = sys.argv[3]
    nwords = 16
    timesteps = 100
    text = load_text(book)
    clean_text = preprocess_text(text)
    word_count = load_word_counts(wc_file)
    top_words = [w[0] for w in word_count[:nwords]]

    t0 = time.time()
    acf = ave_word_acf(top_words, clean_text, timesteps)
    t1 = time.time()
    print(f"serial time: {t1 - t0}")
    save_acf(output, acf)
