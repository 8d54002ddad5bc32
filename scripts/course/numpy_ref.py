"""Exact numpy implementation of the course's word count and word autocorrelation: the reference the
integration tests compare lanes with, and the benchmark's "numpy" column.

Design: the text is tokenized as the course does, but in bulk: one str.translate() turns the 26
delimiters into spaces, then one lower() and one split() over the whole text. This equals the course's
per-line replace / split / per-word lower(): lower-casing never makes or removes white space, and the
final-sigma rule of str.lower() looks only at the characters of the word (white space ends its
context). Words become integer ids with np.unique(return_index, return_inverse, return_counts); the
word table is sorted by count descending, ties by first occurrence (the course's stable sort).

Word ACF: for each top word a boolean mask of its positions; acf[t] = count_nonzero(mask[s:n-t] &
mask[s+t:]) / occurrences, with s = 0 (exact) or s = 1 (course: the course's loop runs i from 1).
The counts are integers, so each word's value is one division, as the course's float accumulation of
0/1 products; the words are averaged with np.average(acf, axis=0) over the (nwords, T) array, the
course's own call, so course mode reproduces the course's CSV bit for bit.

    words = tokenize(read_text(path))
    table = word_table(words)               # [(word, count), ...] in the course's order
    acf, top = word_acf(words, nwords=16, timesteps=100, mode="course")
"""
import numpy as np

DELIMITERS = ". , ; : ? $ @ ^ < > # % ` ! * - = ( ) [ ] { } / \" '".split()
_TRANSLATE = str.maketrans({d: " " for d in DELIMITERS})


def read_text(path):
    """The whole text of a UTF-8 file, with universal newlines (as the course opens it)."""
    with open(path, "r", encoding="utf-8") as f:
        return f.read()


def tokenize(text):
    """The course's words of a text (a str), in order."""
    return text.translate(_TRANSLATE).lower().split()


def _ids(words):
    """(vocabulary array, inverse ids, counts, first positions) of a list of words."""
    if not words:
        return np.array([], dtype=str), np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp), \
            np.zeros(0, dtype=np.intp)
    vocab, first, inverse, counts = np.unique(np.array(words), return_index=True, return_inverse=True,
                                              return_counts=True)
    return vocab, inverse.reshape(-1), counts, first


def _order(counts, first, lengths, min_length):
    """Indexes into the vocabulary in the course's order (count descending, then first occurrence),
    words shorter than min_length code points left out."""
    keep = np.flatnonzero(lengths >= min_length) if min_length > 1 else np.arange(counts.size)
    return keep[np.lexsort((first[keep], -counts[keep]))]


def word_table(words, min_length=0):
    """[(word, count), ...] as the course's sorted, filtered word counts."""
    vocab, _, counts, first = _ids(words)
    lengths = np.char.str_len(vocab) if vocab.size else np.zeros(0, dtype=np.intp)
    order = _order(counts, first, lengths, min_length)
    return [(str(vocab[i]), int(counts[i])) for i in order]


def dat_lines(table):
    """The course's .dat text of a word table: "word count pct" lines, pct as str(float)."""
    total = sum(c for _, c in table)
    return "".join(f"{w} {c} {(float(c) / total) * 100.0!r}\n" for w, c in table)


def word_acf(words, nwords=16, timesteps=100, mode="exact", min_length=0):
    """The average word autocorrelation of the top nwords words over lags 0 .. timesteps-1.

    Returns (acf float64 array of timesteps values, [(word, count), ...] of the words averaged).
    mode "exact": acf[t] = #{i: w at i and i+t} / occurrences; "course": pairs from i = 1.
    """
    if mode not in ("exact", "course"):
        raise ValueError(f"mode must be 'exact' or 'course', got {mode!r}")
    vocab, inverse, counts, first = _ids(words)
    lengths = np.char.str_len(vocab) if vocab.size else np.zeros(0, dtype=np.intp)
    top = _order(counts, first, lengths, min_length)[:nwords]
    n = inverse.size
    s = 1 if mode == "course" else 0
    acf = np.zeros((len(top), timesteps))
    for r, w in enumerate(top):
        mask = inverse == w
        for t in range(timesteps):
            if n - t > s:
                acf[r, t] = np.count_nonzero(mask[s:n - t] & mask[s + t:n])
        acf[r, :] /= counts[w]
    return np.average(acf, axis=0), [(str(vocab[i]), int(counts[i])) for i in top]


def csv_text(acf, first_label):
    """The course's CSV of an ACF (np.savetxt of (label, value) rows with delimiter ',')."""
    return "".join("%.18e,%.18e\n" % (first_label + t, v) for t, v in enumerate(acf))


def zipf_rows(tables, names, zipf_words=10):
    """The Zipf table's text: header and one row per book with the counts of its top words."""
    out = [",".join(["Book"] + [f"word{i}" for i in range(1, zipf_words + 1)])]
    for name, table in zip(names, tables):
        out.append(",".join([name] + [str(c) for _, c in table[:zipf_words]]))
    return "\n".join(out) + "\n"
