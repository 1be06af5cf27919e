"""Phrases reviewers keep taking out of (or putting into) drafts: runs of words inside one
sentence, compared case- and punctuation-insensitively, so a greeting around different names
still counts as the same phrase."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

__all__ = ["MAX_PHRASE_WORDS", "MIN_PHRASE_WORDS", "repeated_phrases"]

MIN_PHRASE_WORDS = 3
MAX_PHRASE_WORDS = 20

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")
_TOKEN = re.compile(r"\S+")
_EDGE_PUNCTUATION = "\"'()[]{}<>.,;:!?-*_\u2018\u2019\u201c\u201d\u2013\u2014"

Gram = tuple[str, ...]


def repeated_phrases(
    pairs: Sequence[tuple[str, str]], *, min_drafts: int, limit: int
) -> list[tuple[str, int]]:
    """Up to ``limit`` phrases of each pair's first text missing from its second, in at least
    ``min_drafts`` pairs, as ``(first wording, pairs)``, most frequent first.

    Of overlapping phrases seen equally often, the longest (then the one nearest its
    sentence's start) stands for them; no two returned phrases share three words in a row.
    """
    counts: Counter[Gram] = Counter()
    surfaces: dict[Gram, tuple[int, str]] = {}
    for before, after in pairs:
        counts.update(_grams(before, surfaces) - _grams(after, surfaces))
    candidates = sorted(
        (gram for gram, count in counts.items() if count >= min_drafts),
        key=lambda gram: (-counts[gram], -len(gram), surfaces[gram][0], gram),
    )
    chosen: list[Gram] = []
    covered: set[Gram] = set()
    for gram in candidates:
        if len(chosen) == limit:
            break
        triples = _triples(gram)
        if triples & covered:
            continue
        chosen.append(gram)
        covered |= triples
    return [(surfaces[gram][1], counts[gram]) for gram in chosen]


def _grams(text: str, surfaces: dict[Gram, tuple[int, str]]) -> set[Gram]:
    """Every run of ``MIN_PHRASE_WORDS``..``MAX_PHRASE_WORDS`` words inside one sentence;
    ``surfaces`` keeps the first wording of each, with its first word's place in the sentence."""
    grams: set[Gram] = set()
    for sentence in _SENTENCE_BREAK.split(text):
        words = _words(sentence)
        for start in range(len(words)):
            stop_max = min(len(words), start + MAX_PHRASE_WORDS)
            for stop in range(start + MIN_PHRASE_WORDS, stop_max + 1):
                gram = tuple(key for key, _, _ in words[start:stop])
                grams.add(gram)
                if gram not in surfaces:
                    wording = sentence[words[start][1] : words[stop - 1][2]]
                    surfaces[gram] = (start, " ".join(wording.split()))
    return grams


def _words(sentence: str) -> list[tuple[str, int, int]]:
    """``(key, start, end)`` of each word, the span trimmed of surrounding punctuation."""
    found = []
    for match in _TOKEN.finditer(sentence):
        token = match.group()
        stripped = token.strip(_EDGE_PUNCTUATION)
        if not stripped:
            continue
        start = match.start() + token.index(stripped)
        found.append((stripped.lower(), start, start + len(stripped)))
    return found


def _triples(gram: Gram) -> set[Gram]:
    return {gram[i : i + MIN_PHRASE_WORDS] for i in range(len(gram) - MIN_PHRASE_WORDS + 1)}
