#!/usr/bin/env python3
"""The course's word count, as the parallel-Python course's word-count project writes it (a reference
for lanes' WordCount, not a fast implementation).

Design: the book is read whole with universal newlines and split into lines; each line has the 26
delimiters replaced by spaces, is split as str.split() does and each word is lower-cased. Counts keep
the order in which words first appear (a dict), are sorted by count, descending (Python's sort is
stable, so ties keep that order), filtered by length, turned into percentages of the total and saved
one "word count percentage" line per word, the percentage printed as str(float) (its repr).

Usage: python scripts/course/wordcount.py BOOK.txt OUT.dat [MIN_LENGTH]
"""
import sys

DELIMITERS = ". , ; : ? $ @ ^ < > # % ` ! * - = ( ) [ ] { } / \" '".split()


def load_text(filename):
    """The lines of a UTF-8 text file, without their line endings."""
    with open(filename, "r", encoding="utf-8") as input_fd:
        lines = input_fd.read().splitlines()
    return lines


def save_word_counts(filename, counts):
    """Writes (word, count, percentage) tuples as "word count percentage" lines."""
    with open(filename, "w", encoding="utf-8") as output:
        for count in counts:
            output.write("%s\n" % " ".join(str(c) for c in count))


def load_word_counts(filename):
    """Reads a .dat file back as (word, count, percentage) tuples; lines starting with # are skipped."""
    counts = []
    with open(filename, "r", encoding="utf-8") as input_fd:
        for line in input_fd:
            if not line.startswith("#"):
                fields = line.split()
                counts.append((fields[0], int(fields[1]), float(fields[2])))
    return counts


def update_word_counts(line, counts):
    """Adds the words of one line to counts (word -> count): delimiters become spaces, words are
    lower-cased."""
    for purge in DELIMITERS:
        line = line.replace(purge, " ")
    words = line.split()
    for word in words:
        word = word.lower().strip()
        if word in counts:
            counts[word] += 1
        else:
            counts[word] = 1


def calculate_word_counts(lines):
    """A dict word -> count over all lines, in order of first occurrence."""
    counts = {}
    for line in lines:
        update_word_counts(line, counts)
    return counts


def word_count_dict_to_tuples(counts, decrease=True):
    """(word, count) tuples sorted by count (stable: ties keep their first-occurrence order)."""
    return sorted(list(counts.items()), key=lambda key_value: key_value[1], reverse=decrease)


def filter_word_counts(counts, min_length=1):
    """Keeps the (word, count) tuples whose word has at least min_length characters."""
    stripped = []
    for (word, count) in counts:
        if len(word) >= min_length:
            stripped.append((word, count))
    return stripped


def calculate_percentages(counts):
    """(word, count, percentage) tuples, the percentage of the total of the counts given."""
    total = 0
    for count in counts:
        total += count[1]
    tuples = [(word, count, (float(count) / total) * 100.0) for (word, count) in counts]
    return tuples


def word_count(input_file, output_file, min_length=1):
    lines = load_text(input_file)
    counts = calculate_word_counts(lines)
    sorted_counts = word_count_dict_to_tuples(counts)
    sorted_counts = filter_word_counts(sorted_counts, min_length)
    percentage_counts = calculate_percentages(sorted_counts)
    save_word_counts(output_file, percentage_counts)


if __name__ == "__main__":
    input_file = sys.argv[1]
    output_file = sys.argv[2]
    min_length = 1
    if len(sys.argv) > 3:
        min_length = int(sys.argv[3])
    word_count(input_file, output_file, min_length)
