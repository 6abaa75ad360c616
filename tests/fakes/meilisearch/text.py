"""Text: tokens, normalization, matching."""

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

SOFT, HARD = "-_':/\\@\"+~=^*#\u2018\u2019\u201c\u201d", ".;,!?()[]{}|"  # charabia's classes
TOKEN = re.compile(rf"(?P<sep>[\s{re.escape(SOFT + HARD)}]+)|[^\s{re.escape(SOFT + HARD)}]+")


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    word: str | None  # normalized; None for a separator
    hard: bool


def _is_separator(char: str) -> bool:
    return char.isspace() or char in SOFT or char in HARD


def _normalize(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _tokenize(text: str) -> list[_Token]:
    tokens = []
    for m in TOKEN.finditer(text):
        word = None if m["sep"] else _normalize(m[0])
        tokens.append(_Token(m.start(), m.end(), word, any(c in HARD for c in m[0])))
    return tokens


def _distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment), the distance of Meilisearch's automata."""
    before, previous = [0] * (len(b) + 1), list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, previous = previous, current
    return previous[-1]


@dataclass(frozen=True)
class _Query:
    terms: tuple[str, ...]
    prefix_last: bool
    typo_sizes: tuple[int, ...]  # word lengths from which 1 and 2 typos are allowed

    @classmethod
    def parse(cls, q: str, typo: dict[str, Any]) -> "_Query":
        terms = tuple(t.word for t in _tokenize(q) if t.word)[:10]  # the engine reads 10 words
        sizes = typo.get("minWordSizeForTypos", {})
        typo_sizes = (sizes.get("oneTypo", 5), sizes.get("twoTypos", 9))
        prefix_last = bool(q) and not _is_separator(q[-1])  # "foo " is a word, "foo" a prefix
        return cls(terms, prefix_last, typo_sizes if typo.get("enabled", True) else ())

    def match(self, i: int, word: str) -> tuple[int, int] | None:
        """(typos, highlighted characters) when `word` matches query term `i`."""
        term = self.terms[i]
        prefix = self.prefix_last and i == len(self.terms) - 1
        if word == term or (prefix and word.startswith(term)):
            return 0, len(term)
        budget = sum(len(term) >= size for size in self.typo_sizes)
        if not budget:
            return None
        lengths = range(len(term) - budget, len(term) + budget + 1) if prefix else [len(word)]
        candidates = [word[:n] for n in lengths if 0 < n <= len(word)]
        # a typo on the first letter counts as two
        typos = min((_distance(term, c) + (term[0] != c[0]) for c in candidates), default=9)
        return (typos, len(word)) if typos <= budget else None

    def score(self, words: set[str], strategy: str) -> tuple[int, int] | None:
        """(matched words, typos) for the ranking rules; None leaves the document out."""
        if not self.terms:
            return 0, 0
        found: list[int | None] = []
        for i in range(len(self.terms)):
            typos = [m[0] for w in words if (m := self.match(i, w))]
            found.append(min(typos) if typos else None)
        if strategy == "frequency":
            kept = [f for f in found if f is not None]
        else:  # `last` drops query words from the end until the rest all match; `all` never
            stop = found.index(None) if None in found else len(found)
            kept = [f for f in found[:stop] if f is not None]
            if strategy == "all" and stop < len(found):
                kept = []
        return (len(kept), sum(kept)) if kept else None
