"""A fake Meilisearch that speaks the documented HTTP API, for machines that cannot run one.

It covers what the search adapter uses: indexes, settings, documents, search, tasks and
master-key auth, with the real wire format (summarized and full task objects, error objects
`{message, code, type, link}`, asynchronous tasks, `_formatted` hits). Search follows the
engine's observable rules: charabia's separators, case and accent folding, a prefix on the
last query word, typo tolerance (1 typo from 5 letters, 2 from 9, a typo on the first letter
costs two), the `last` matching strategy, the filter grammar and milli's crop window.
Parameters Meilisearch knows but the fake does not implement answer 501, so a test cannot
pass here by accident and fail against the real server.
"""

import asyncio
import contextlib
import fnmatch
import hmac
import itertools
import json
import operator
import re
import threading
import time
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devstack.postgres import free_port

Doc = dict[str, Any]
Predicate = Callable[[Doc], bool]
Endpoint = Callable[[Request], Awaitable[Response]]

VERSION = "1.30.0"
# Tasks wait this long before being applied, so a test that forgets `wait_for_task` fails
# here as it would, intermittently, against a real server.
TASK_DELAY = 0.02
DEFAULT_SETTINGS: dict[str, Any] = {
    "displayedAttributes": ["*"],
    "searchableAttributes": ["*"],
    "filterableAttributes": [],
    "sortableAttributes": [],
    "rankingRules": ["words", "typo", "proximity", "attribute", "sort", "exactness"],
    "stopWords": [],
    "nonSeparatorTokens": [],
    "separatorTokens": [],
    "dictionary": [],
    "synonyms": {},
    "distinctAttribute": None,
    "proximityPrecision": "byWord",
    "typoTolerance": {
        "enabled": True,
        "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9},
        "disableOnWords": [],
        "disableOnAttributes": [],
        "disableOnNumbers": False,
    },
    "faceting": {"maxValuesPerFacet": 100, "sortFacetValuesBy": {"*": "alpha"}},
    "pagination": {"maxTotalHits": 1000},
    "embedders": {},
    "searchCutoffMs": None,
    "localizedAttributes": None,
    "facetSearch": True,
    "prefixSearch": "indexingTime",
}
LIST_SETTINGS = {k for k, v in DEFAULT_SETTINGS.items() if isinstance(v, list)}
NESTED_SETTINGS = {"typoTolerance", "faceting", "pagination"}
RANKING_RULE = re.compile(r"words|typo|proximity|attribute|sort|exactness|.+:(asc|desc)")
SEARCH_PARAMS = {
    "q", "offset", "limit", "filter", "sort", "attributesToRetrieve", "attributesToHighlight",
    "highlightPreTag", "highlightPostTag", "attributesToCrop", "cropLength", "cropMarker",
    "matchingStrategy",
}  # fmt: skip
UNSUPPORTED_SEARCH_PARAMS = {
    "page", "hitsPerPage", "attributesToSearchOn", "vector", "media", "hybrid", "distinct",
    "retrieveVectors", "showMatchesPosition", "showRankingScore", "showRankingScoreDetails",
    "showPerformanceDetails", "facets", "locales", "rankingScoreThreshold", "personalize",
    "useNetwork",
}  # fmt: skip
UID = re.compile(r"[A-Za-z0-9_-]{1,400}")
DOCUMENT_ID = re.compile(r"[A-Za-z0-9_-]{1,511}")
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
SOFT, HARD = "-_':/\\@\"+~=^*#\u2018\u2019\u201c\u201d", ".;,!?()[]{}|"  # charabia's classes
TOKEN = re.compile(rf"(?P<sep>[\s{re.escape(SOFT + HARD)}]+)|[^\s{re.escape(SOFT + HARD)}]+")
FILTER_TOKEN = re.compile(
    r"(?P<op>!=|>=|<=|=|>|<)|(?P<punct>[()\[\],])|\"(?P<dq>(?:\\.|[^\"\\])*)\""
    r"|'(?P<sq>(?:\\.|[^'\\])*)'|(?P<word>[^\s()\[\],=!<>\"']+)|(?P<bad>\S)"
)
KEYWORDS = {"AND", "OR", "NOT", "IN", "TO", "EXISTS", "IS", "EMPTY", "NULL"}
COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


class MeiliError(Exception):
    """An error object as Meilisearch renders it, with the HTTP status it travels with."""

    def __init__(self, code: str, message: str, status: int = 400, kind: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.kind = kind or "invalid_request"

    def body(self) -> dict[str, str]:
        link = f"https://docs.meilisearch.com/errors#{self.code}"
        return {"message": self.message, "code": self.code, "type": self.kind, "link": link}


def _not_found(what: str, name: object) -> MeiliError:
    return MeiliError(f"{what.lower()}_not_found", f"{what} `{name}` not found.", 404)


def _unsupported(what: str) -> MeiliError:
    return MeiliError(
        "unsupported_by_fake", f"The fake does not implement {what}.", 501, "internal"
    )


def _bad_type(code: str, name: str, expected: str, value: Any) -> MeiliError:
    found = json.dumps(value, ensure_ascii=False)
    return MeiliError(
        code, f"Invalid value type at `.{name}`: expected {expected}, found `{found}`"
    )


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Index:
    uid: str
    primary_key: str | None
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)
    documents: dict[str, Doc] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def setting(self, name: str) -> Any:
        return self.settings.get(name, DEFAULT_SETTINGS[name])

    def view(self) -> dict[str, Any]:
        created, updated = _iso(self.created_at), _iso(self.updated_at)
        return {"uid": self.uid, "createdAt": created, "updatedAt": updated,
                "primaryKey": self.primary_key}  # fmt: skip


@dataclass
class _Task:
    uid: int
    index_uid: str | None
    kind: str
    payload: dict[str, Any]
    details: dict[str, Any]
    enqueued_at: datetime = field(default_factory=_now)
    status: str = "enqueued"
    batch_uid: int | None = None
    error: dict[str, str] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def summary(self) -> dict[str, Any]:
        return {"taskUid": self.uid, "indexUid": self.index_uid, "status": self.status,
                "type": self.kind, "enqueuedAt": _iso(self.enqueued_at)}  # fmt: skip

    def view(self) -> dict[str, Any]:
        duration = None
        if self.started_at and self.finished_at:
            duration = f"PT{(self.finished_at - self.started_at).total_seconds():.6f}S"
        return {
            "uid": self.uid, "batchUid": self.batch_uid, "indexUid": self.index_uid,
            "status": self.status, "type": self.kind, "canceledBy": None, "details": self.details,
            "error": self.error, "duration": duration, "enqueuedAt": _iso(self.enqueued_at),
            "startedAt": _iso(self.started_at), "finishedAt": _iso(self.finished_at),
        }  # fmt: skip


# --- text: tokens, normalization, matching ------------------------------------------------


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


# --- documents: values by attribute path -----------------------------------------------------


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, path)
    else:
        yield path, value


def _raw(value: Any, attr: str, path: str = "") -> Iterator[Any]:
    if path == attr:
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            if attr == sub or attr.startswith(sub + "."):
                yield from _raw(item, attr, sub)
    elif isinstance(value, list) and path:
        for item in value:
            yield from _raw(item, attr, path)


def _flat(values: Iterator[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if isinstance(value, list):
            out.extend(_flat(iter(value)))
        elif not isinstance(value, dict):
            out.append(value)
    return out


def _selected(path: str, selectors: list[str]) -> bool:
    return any(s == "*" or path == s or path.startswith(s + ".") for s in selectors)


def _num(value: int | float) -> str:
    return str(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else _num(value)


def _facet(text: str) -> str:
    return text.strip().lower()  # how milli normalizes facet strings


def _document_id(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    return value if isinstance(value, str) and DOCUMENT_ID.fullmatch(value) else None


def _sort_value(doc: Doc, attr: str, desc: bool) -> tuple[Any, ...]:
    """Numbers before strings before missing values, in both directions, as Meilisearch sorts."""
    values = [v for v in _flat(_raw(doc, attr)) if not isinstance(v, bool)]
    numbers = [v for v in values if isinstance(v, int | float)]
    if numbers:
        return (0, -max(numbers)) if desc else (0, min(numbers))
    strings = [_facet(v) for v in values if isinstance(v, str)]
    if strings:
        return (1, (*(-ord(c) for c in max(strings)), 1)) if desc else (1, min(strings))
    return (2,)


# --- filters --------------------------------------------------------------------------------


def _all_of(predicates: list[Predicate]) -> Predicate:
    return lambda doc: all(p(doc) for p in predicates)


def _any_of(predicates: list[Predicate]) -> Predicate:
    return lambda doc: any(p(doc) for p in predicates)


def _negate(predicate: Predicate) -> Predicate:
    return lambda doc: not predicate(doc)


def _number(text: str) -> float | None:
    return float(text) if NUMBER.fullmatch(text) else None


def _equals(leaf: Any, value: str) -> bool:
    if isinstance(leaf, bool):
        return _facet(value) == ("true" if leaf else "false")
    if isinstance(leaf, int | float):
        return _number(value) == leaf
    return isinstance(leaf, str) and _facet(leaf) == _facet(value)


def _compares(leaf: Any, op: str, value: str) -> bool:
    bound: Any = _number(value)
    if bound is not None:
        return (
            isinstance(leaf, int | float)
            and not isinstance(leaf, bool)
            and COMPARE[op](leaf, bound)
        )
    return isinstance(leaf, str) and COMPARE[op](_facet(leaf), _facet(value))


def _condition(attr: str, test: Callable[[Any], bool]) -> Predicate:
    """Any scalar under `attr` passes: on an array, `=` means contains."""
    return lambda doc: any(test(leaf) for leaf in _flat(_raw(doc, attr)))


def _present(attr: str, test: Callable[[Any], bool]) -> Predicate:
    """The raw value under `attr` passes (EXISTS, IS NULL, IS EMPTY look at arrays whole)."""
    return lambda doc: any(test(value) for value in _raw(doc, attr))


@dataclass(frozen=True)
class _FilterToken:
    kind: str  # op, punct, value, bad
    text: str
    start: int
    quoted: bool = False


class _FilterParser:
    """The documented filter grammar: OR of ANDs of NOTs of conditions and parentheses."""

    def __init__(self, expr: str, index: _Index) -> None:
        self.expr, self.index, self.pos = expr, index, 0
        self.tokens: list[_FilterToken] = []
        for m in FILTER_TOKEN.finditer(expr):
            kind = m.lastgroup or "bad"
            if kind in ("dq", "sq"):
                quote = '"' if kind == "dq" else "'"
                text = m[kind].replace("\\" + quote, quote)
                self.tokens.append(_FilterToken("value", text, m.start(), quoted=True))
            else:
                self.tokens.append(
                    _FilterToken("value" if kind == "word" else kind, m[0], m.start())
                )

    def parse(self) -> Predicate:
        predicate = self.or_()
        if self.pos < len(self.tokens):
            raise self.error("Found unexpected characters at the end of the filter")
        return predicate

    def error(self, message: str) -> MeiliError:
        at = self.tokens[self.pos].start if self.pos < len(self.tokens) else len(self.expr)
        return MeiliError(
            "invalid_search_filter", f"{message}.\n{at + 1}:{len(self.expr) + 1} {self.expr}"
        )

    def peek(self, kind: str, *texts: str) -> _FilterToken | None:
        """The next token if of `kind`; for values, a keyword only when `texts` names it."""
        if self.pos == len(self.tokens):
            return None
        token = self.tokens[self.pos]
        keyword = token.kind == "value" and not token.quoted and token.text in KEYWORDS
        if token.kind != kind or (kind == "value" and keyword != bool(texts)):
            return None
        return token if not texts or token.text in texts else None

    def take(self, kind: str, *texts: str) -> _FilterToken | None:
        token = self.peek(kind, *texts)
        self.pos += token is not None
        return token

    def value(self) -> str:
        if token := self.take("value"):
            return token.text
        raise self.error("Was expecting a value")

    def or_(self) -> Predicate:
        options = [self.and_()]
        while self.take("value", "OR"):
            options.append(self.and_())
        return options[0] if len(options) == 1 else _any_of(options)

    def and_(self) -> Predicate:
        parts = [self.not_()]
        while self.take("value", "AND"):
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else _all_of(parts)

    def not_(self) -> Predicate:
        return _negate(self.not_()) if self.take("value", "NOT") else self.primary()

    def values(self) -> list[str]:
        if not self.take("punct", "["):
            raise self.error("Expected `[` after `IN` keyword")
        items: list[str] = []
        while not self.take("punct", "]"):
            items.append(self.value())
            if not self.take("punct", ",") and not self.peek("punct", "]"):
                raise self.error("Expected matching `]` after the list of values")
        return items

    def primary(self) -> Predicate:
        if self.take("punct", "("):
            inner = self.or_()
            if not self.take("punct", ")"):
                raise self.error("Expression `(` is missing a closing `)`")
            return inner
        token = self.take("value")
        if token is None:
            raise self.error("Was expecting an attribute or a `(`")
        attr = token.text
        if attr.startswith("_geo"):
            raise _unsupported("geo filters")
        self.check_filterable(token)
        if op := self.take("op"):
            value = self.value()
            if op.text in ("=", "!="):
                equal = _condition(attr, lambda leaf: _equals(leaf, value))
                return equal if op.text == "=" else _negate(equal)
            return _condition(attr, lambda leaf: _compares(leaf, op.text, value))
        negate = bool(self.take("value", "NOT"))
        if self.take("value", "IN"):
            values = self.values()
            within = _condition(attr, lambda leaf: any(_equals(leaf, v) for v in values))
            return _negate(within) if negate else within
        if self.take("value", "EXISTS"):
            exists = _present(attr, lambda _: True)  # even null or []
            return _negate(exists) if negate else exists
        if not negate and self.take("value", "IS"):
            negate = bool(self.take("value", "NOT"))
            if self.take("value", "NULL"):
                test = _present(attr, lambda value: value is None)
            elif self.take("value", "EMPTY"):
                test = _present(attr, lambda value: value in ("", [], {}))
            else:
                raise self.error("Was expecting `NULL` or `EMPTY` after `IS`")
            return _negate(test) if negate else test
        if not negate and self.peek("value"):
            low = self.value()
            if self.take("value", "TO"):
                high = self.value()
                return _condition(
                    attr, lambda leaf: _compares(leaf, ">=", low) and _compares(leaf, "<=", high)
                )
        raise self.error(f"Was expecting an operation after `{attr}`")

    def check_filterable(self, token: _FilterToken) -> None:
        patterns: list[str] = []
        for entry in self.index.setting("filterableAttributes"):
            patterns += [entry] if isinstance(entry, str) else entry.get("attributePatterns", [])
        attr = token.text
        if any(fnmatch.fnmatchcase(attr, p) or attr.startswith(p + ".") for p in patterns):
            return
        hint = "This index does not have configured filterable attributes."
        if patterns:
            listed = ", ".join(f"`{p}`" for p in sorted(patterns))
            hint = f"Available filterable attribute patterns are: {listed}."
        where = f"{token.start + 1}:{token.start + len(token.text) + 1}"
        message = f"Index `{self.index.uid}`: Attribute `{attr}` is not filterable. {hint}"
        raise MeiliError("invalid_search_filter", f"{message}\n{where} {self.expr}")


def _compile_filter(raw: Any, index: _Index) -> Predicate | None:
    """A string expression, or arrays whose outer level is AND and inner level is OR."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, str):
        return _FilterParser(raw, index).parse()
    if not isinstance(raw, list):
        raise _bad_type("invalid_search_filter", "filter", "a string or an array", raw)
    clauses: list[Predicate] = []
    for item in raw:
        options = [item] if isinstance(item, str) else item
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
            raise _bad_type("invalid_search_filter", "filter", "a string or an array", item)
        parsed = [p for o in options if (p := _compile_filter(o, index))]
        if parsed:
            clauses.append(_any_of(parsed))
    return _all_of(clauses) if clauses else None


# --- highlighting and cropping --------------------------------------------------------------


@dataclass(frozen=True)
class _Format:
    retrieve: list[str]
    highlight: list[str]
    crop: dict[str, int]
    tags: tuple[str, str]
    marker: str
    formatted: bool


def _best_interval(
    matches: list[tuple[int, int, int]], words: list[int], size: int
) -> tuple[int, int]:
    """Token span of the matches with most distinct terms, then closest, then best ordered."""
    best, best_score = (matches[0][0], matches[0][0]), (0, 0, 0)
    for i, (first, _, _) in enumerate(matches):
        for j in range(i, len(matches)):
            last = matches[j][0]
            if words[last] - words[first] + 1 > size:
                break
            ids = [m[1] for m in matches[i : j + 1]]
            ordered = sum(a < b for a, b in itertools.pairwise(ids))
            score = (len(set(ids)), -(words[last] - words[first]), ordered)
            if score > best_score:
                best, best_score = (first, last), score
    return best


def _crop_bounds(
    text: str, tokens: list[_Token], matches: list[tuple[int, int, int]], size: int
) -> tuple[int, int]:
    """milli's `Matcher::crop_bounds`: grow a window around the best matches word by word."""
    words = [0]
    for token in tokens:
        words.append(words[-1] + (token.word is not None))
    before: list[_Token] = []
    after, remaining = tokens, size
    if matches:
        first, last = _best_interval(matches, words, size)
        remaining = size - (words[last] - words[first] + 1)
        before, after = tokens[:first][::-1], tokens[last + 1 :]
    b = a = 0
    while remaining > 0:
        left = before[b] if b < len(before) else None
        right = after[a] if a < len(after) else None
        if left and right and left.word is None and right.word is None:
            if left.hard == right.hard:  # same kind: both sides, but never end on a separator
                b, a = b + 1, a + (remaining > 1)
            elif left.hard:  # keep the sentence: grow towards the soft separator
                a += 1
            else:
                b += 1
        elif left and right and left.word is not None and right.word is not None:
            b, remaining = b + 1, remaining - 1
            if remaining:
                a, remaining = a + 1, remaining - 1
        elif left and (right is None or left.word is not None):
            b, remaining = b + 1, remaining - (left.word is not None)
        elif right:
            a, remaining = a + 1, remaining - (right.word is not None)
        else:
            break
    start = before[b].end if b < len(before) else 0
    return start, after[a].start if a < len(after) else len(text)


def _format_text(
    text: str, query: _Query, tags: tuple[str, str] | None, crop: int | None, marker: str
) -> str:
    tokens = _tokenize(text)
    matches: list[tuple[int, int, int]] = []  # token index, query term, normalized length
    for position, token in enumerate(tokens):
        for i in range(len(query.terms)):
            if token.word and (found := query.match(i, token.word)):
                matches.append((position, i, found[1]))
                break
    start, end = _crop_bounds(text, tokens, matches, crop) if crop else (0, len(text))
    out = [marker if start > 0 else ""]
    cursor = start
    for position, _, length in matches:
        token = tokens[position]
        if tags is None or token.end < start or token.start > end:
            continue
        cut, normalized = token.start, 0  # a prefix match highlights only the typed prefix
        while cut < token.end and normalized < length:
            normalized, cut = normalized + len(_normalize(text[cut])), cut + 1
        out += [text[cursor : token.start], tags[0], text[token.start : cut], tags[1]]
        out.append(text[cut : token.end])
        cursor = token.end
    out.append(text[cursor:end])
    return "".join(out) + (marker if end < len(text) else "")


def _format_value(value: Any, path: str, query: _Query, fmt: _Format) -> Any:
    """Format every leaf; numbers become strings in `_formatted`, as the engine renders them."""
    if isinstance(value, dict):
        return {k: _format_value(v, f"{path}.{k}", query, fmt) for k, v in value.items()}
    if isinstance(value, list):
        return [_format_value(v, path, query, fmt) for v in value]
    if value is None or isinstance(value, bool):
        return value
    text = value if isinstance(value, str) else _num(value)
    highlight = _selected(path, fmt.highlight)
    crop = next((n for s, n in fmt.crop.items() if _selected(path, [s])), None)
    if not highlight and crop is None:
        return text
    return _format_text(text, query, fmt.tags if highlight else None, crop, fmt.marker)


# --- search ---------------------------------------------------------------------------------


def _int_param(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad_type(f"invalid_search_{_snake(name)}", name, "a positive integer", value)
    return value


def _list_param(body: dict[str, Any], name: str, default: list[str]) -> list[str]:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad_type(f"invalid_search_{_snake(name)}", name, "an array of strings", value)
    return value


def _str_param(body: dict[str, Any], name: str, default: str) -> str:
    value = body.get(name, default)
    if value is not None and not isinstance(value, str):
        raise _bad_type(f"invalid_search_{_snake(name)}", name, "a string", value)
    return value or ""


def _sort_param(body: dict[str, Any], index: _Index) -> list[tuple[str, bool]]:
    sort = []
    for entry in _list_param(body, "sort", []):
        attr, _, direction = entry.rpartition(":")
        if direction not in ("asc", "desc") or not attr:
            message = f"Invalid syntax for the sort parameter: expected expression ending by `:asc` or `:desc`, found `{entry}`."  # noqa: E501
            raise MeiliError("invalid_search_sort", message)
        sortable = index.setting("sortableAttributes")
        if not _selected(attr, sortable):
            hint = "This index does not have configured sortable attributes."
            if sortable:
                hint = (
                    "Available sortable attributes are: "
                    + ", ".join(f"`{s}`" for s in sorted(sortable))
                    + "."
                )
            raise MeiliError("invalid_search_sort", f"Attribute `{attr}` is not sortable. {hint}")
        sort.append((attr, direction == "desc"))
    if sort and "sort" not in index.setting("rankingRules"):
        message = "You must specify where `sort` is listed in the rankingRules setting to use the sort parameter at search time."  # noqa: E501
        raise MeiliError("invalid_search_sort", message)
    return sort


def _format_options(body: dict[str, Any], index: _Index) -> _Format:
    crop_length = _int_param(body, "cropLength", 10)
    crop: dict[str, int] = {}
    for entry in _list_param(body, "attributesToCrop", []):  # `attr` or `attr:length`
        name, _, length = entry.rpartition(":")
        crop[name or entry] = int(length) if name and length.isdigit() else crop_length
    highlight = _list_param(body, "attributesToHighlight", [])
    displayed = index.setting("displayedAttributes")
    fields = {k for doc in index.documents.values() for k in doc if _selected(k, displayed)}
    return _Format(
        retrieve=_list_param(body, "attributesToRetrieve", ["*"]),
        highlight=highlight,
        crop=crop,
        tags=(
            _str_param(body, "highlightPreTag", "<em>"),
            _str_param(body, "highlightPostTag", "</em>"),
        ),
        marker=_str_param(body, "cropMarker", "…"),
        # only when highlight or crop name an existing field
        formatted=any(_selected(f, highlight) or _selected(f, list(crop)) for f in fields),
    )


def _ranked(index: _Index, query: _Query, body: dict[str, Any]) -> list[Doc]:
    """Matching documents in the order of the index's ranking rules (words, typo, sort)."""
    strategy = _str_param(body, "matchingStrategy", "last")
    if strategy not in ("last", "all", "frequency"):
        message = f"Unknown value `{strategy}` at `.matchingStrategy`: expected one of `last`, `all`, `frequency`"  # noqa: E501
        raise MeiliError("invalid_search_matching_strategy", message)
    keep = _compile_filter(body.get("filter"), index)
    sort = _sort_param(body, index)
    searchable = index.setting("searchableAttributes")
    ranked: list[tuple[list[Any], Doc]] = []
    for position, doc in enumerate(index.documents.values()):
        if keep and not keep(doc):
            continue
        texts = [_text(v) for path, v in _leaves(doc) if _selected(path, searchable)]
        words = {t.word for text in texts if text for t in _tokenize(text) if t.word}
        score = query.score(words, strategy)
        if score is None:
            continue
        key: list[Any] = []
        for rule in index.setting("rankingRules"):
            if rule in ("words", "typo"):
                key.append(-score[0] if rule == "words" else score[1])
            elif rule == "sort":
                key += [_sort_value(doc, attr, desc) for attr, desc in sort]
            elif custom := re.fullmatch(r"(.+):(asc|desc)", rule):
                key.append(_sort_value(doc, custom[1], custom[2] == "desc"))
        ranked.append(([*key, position], doc))  # then insertion order, like internal ids
    return [doc for _, doc in sorted(ranked, key=lambda pair: pair[0])]


def _hit(index: _Index, doc: Doc, query: _Query, fmt: _Format) -> dict[str, Any]:
    shown = [k for k in doc if _selected(k, index.setting("displayedAttributes"))]
    hit = {k: doc[k] for k in shown if _selected(k, fmt.retrieve)}
    if fmt.formatted:
        wanted = [k for k in shown if _selected(k, fmt.retrieve + fmt.highlight + list(fmt.crop))]
        hit["_formatted"] = {k: _format_value(doc[k], k, query, fmt) for k in wanted}
    return hit


def _search(index: _Index, body: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    for name, value in body.items():
        if name in UNSUPPORTED_SEARCH_PARAMS and value not in (None, False):
            raise _unsupported(f"the `{name}` search parameter")
        if name not in SEARCH_PARAMS | UNSUPPORTED_SEARCH_PARAMS:
            known = ", ".join(f"`{p}`" for p in sorted(SEARCH_PARAMS | UNSUPPORTED_SEARCH_PARAMS))
            raise MeiliError("bad_request", f"Unknown field `{name}`: expected one of {known}")
    q = _str_param(body, "q", "")
    query = _Query.parse(q, index.setting("typoTolerance"))
    limit, offset = _int_param(body, "limit", 20), _int_param(body, "offset", 0)
    fmt = _format_options(body, index)
    ranked = _ranked(index, query, body)
    total = min(len(ranked), index.setting("pagination")["maxTotalHits"])
    page = ranked[offset : max(offset, min(offset + limit, total))]
    return {
        "hits": [_hit(index, doc, query, fmt) for doc in page],
        "query": q,
        "processingTimeMs": int((time.perf_counter() - started) * 1000),
        "limit": limit,
        "offset": offset,
        "estimatedTotalHits": total,
    }


# --- the task queue -------------------------------------------------------------------------


def _merge(old: Any, new: Any) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        return {**old, **{k: _merge(old.get(k), v) for k, v in new.items()}}
    return new


def _infer_primary_key(documents: list[Doc]) -> str:
    candidates = [k for k in documents[0] if k.lower().endswith("id")] if documents else []
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        names = " and ".join(f"'{c}'" for c in candidates)
        message = f"The primary key inference failed as the engine found {len(candidates)} fields ending with `id` in their names: {names}. Please specify the primary key manually using the `primaryKey` query parameter."  # noqa: E501
        raise MeiliError("index_primary_key_multiple_candidates_found", message)
    message = "The primary key inference failed as the engine did not find any field ending with `id` in its name. Please specify the primary key manually using the `primaryKey` query parameter."  # noqa: E501
    raise MeiliError("index_primary_key_no_candidate_found", message)


class _Store:
    """Indexes and tasks; outlives the server so a restart keeps the data like a real one."""

    def __init__(self) -> None:
        self.indexes: dict[str, _Index] = {}
        self.tasks: dict[int, _Task] = {}
        self.next_batch = 0
        self.wake: asyncio.Event | None = None

    def index(self, uid: str) -> _Index:
        if uid not in self.indexes:
            raise _not_found("Index", uid)
        return self.indexes[uid]

    def enqueue(
        self, kind: str, uid: str, payload: dict[str, Any], details: dict[str, Any]
    ) -> _Task:
        task = _Task(len(self.tasks), uid, kind, payload, details)
        self.tasks[task.uid] = task
        if self.wake:
            self.wake.set()
        return task

    async def run(self) -> None:
        self.wake = asyncio.Event()
        self.wake.set()
        while True:
            await self.wake.wait()
            self.wake.clear()
            await asyncio.sleep(TASK_DELAY)
            for task in [t for t in self.tasks.values() if t.status == "enqueued"]:
                self.process(task)

    def process(self, task: _Task) -> None:
        task.status, task.started_at, task.batch_uid = "processing", _now(), self.next_batch
        self.next_batch += 1
        try:
            self.apply(task)
            task.status = "succeeded"
        except MeiliError as exc:
            task.status, task.error = "failed", exc.body()
            for key in ("indexedDocuments", "deletedDocuments"):
                if key in task.details:
                    task.details[key] = 0
        task.finished_at = _now()
        if task.index_uid in self.indexes:
            self.indexes[task.index_uid].updated_at = task.finished_at

    def apply(self, task: _Task) -> None:
        uid, payload = task.index_uid or "", task.payload
        if task.kind == "indexCreation":
            if uid in self.indexes:
                raise MeiliError("index_already_exists", f"Index `{uid}` already exists.", 409)
            self.indexes[uid] = _Index(uid, payload.get("primaryKey"))
        elif task.kind == "settingsUpdate":
            index = self.indexes.setdefault(uid, _Index(uid, None))
            for key, value in payload.items():
                if value is None:
                    index.settings.pop(key, None)
                else:
                    index.settings[key] = (
                        _merge(index.setting(key), value) if key in NESTED_SETTINGS else value
                    )
        elif task.kind == "documentDeletion":
            documents = self.index(uid).documents
            deleted = [documents.pop(str(i), None) for i in payload["ids"]]
            task.details["deletedDocuments"] = sum(d is not None for d in deleted)
        else:
            self.add_documents(task)

    def add_documents(self, task: _Task) -> None:
        uid, documents = task.index_uid or "", task.payload["documents"]
        index = self.indexes.get(uid)
        key, wanted = index.primary_key if index else None, task.payload["primaryKey"]
        if key and wanted and wanted != key:
            message = f"Index `{uid}`: Index already has a primary key: `{key}`."
            raise MeiliError("index_primary_key_already_exists", message)
        key = key or wanted or _infer_primary_key(documents)
        staged = dict(index.documents) if index else {}
        for doc in documents:  # all or nothing: one bad document fails the whole task
            if key not in doc:
                shown = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
                message = f"Document doesn't have a `{key}` attribute: `{shown}`."
                raise MeiliError("missing_document_id", message)
            doc_id = _document_id(doc[key])
            if doc_id is None:
                message = f"Document identifier `{json.dumps(doc[key], ensure_ascii=False)}` is invalid. A document identifier can be of type integer or string, only composed of alphanumeric characters (a-z A-Z 0-9), hyphens (-) and underscores (_), and can not be more than 511 bytes."  # noqa: E501
                raise MeiliError("invalid_document_id", message)
            merge = task.payload["merge"] and doc_id in staged
            staged[doc_id] = {**staged[doc_id], **doc} if merge else doc
        index = index or self.indexes.setdefault(uid, _Index(uid, key))
        index.primary_key, index.documents = key, staged
        task.details["indexedDocuments"] = len(documents)


# --- HTTP -----------------------------------------------------------------------------------


def _path_uid(request: Request) -> str:
    return _checked_uid(request.path_params["uid"])


def _checked_uid(uid: Any) -> str:
    if not isinstance(uid, str) or not UID.fullmatch(uid):
        message = f"`{uid}` is not a valid index uid. Index uid can be an integer or a string containing only alphanumeric characters, hyphens (-) and underscores (_), and can not be more than 400 bytes."  # noqa: E501
        raise MeiliError("invalid_index_uid", message)
    return uid


async def _json(request: Request) -> Any:
    content_type = request.headers.get("content-type", "")
    if not content_type:
        message = "A Content-Type header is missing. Accepted values for the Content-Type header are: `application/json`"  # noqa: E501
        raise MeiliError("missing_content_type", message, 415)
    if content_type.split(";")[0].strip() in ("application/x-ndjson", "text/csv"):
        raise _unsupported(f"`{content_type}` payloads")
    if content_type.split(";")[0].strip() != "application/json":
        message = f"The Content-Type `{content_type}` is invalid. Accepted values for the Content-Type header are: `application/json`"  # noqa: E501
        raise MeiliError("invalid_content_type", message, 415)
    raw = await request.body()
    if not raw:
        raise MeiliError("missing_payload", "A json payload is missing.")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise MeiliError(
            "malformed_payload", f"The json payload provided is malformed. `{exc}`."
        ) from exc


def _accepted(task: _Task) -> JSONResponse:
    return JSONResponse(task.summary(), status_code=202)


class _Api:
    def __init__(self, store: _Store, master_key: str | None) -> None:
        self.store, self.master_key = store, master_key

    def app(self) -> Starlette:
        @contextlib.asynccontextmanager
        async def lifespan(_: Starlette) -> AsyncIterator[None]:
            worker = asyncio.create_task(self.store.run())
            yield
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

        routes = [
            ("/health", self.health, ["GET"]),
            ("/version", self.version, ["GET"]),
            ("/indexes", self.create_index, ["POST"]),
            ("/indexes/{uid}", self.get_index, ["GET"]),
            ("/indexes/{uid}/settings", self.get_settings, ["GET"]),
            ("/indexes/{uid}/settings", self.update_settings, ["PATCH"]),
            ("/indexes/{uid}/documents", self.add_documents, ["POST", "PUT"]),
            ("/indexes/{uid}/documents/{document_id}", self.get_document, ["GET"]),
            ("/indexes/{uid}/documents/{document_id}", self.delete_document, ["DELETE"]),
            ("/indexes/{uid}/search", self.search_documents, ["POST"]),
            ("/tasks", self.list_tasks, ["GET"]),
            ("/tasks/{task_uid}", self.get_task, ["GET"]),
        ]
        return Starlette(
            routes=[Route(path, self.guard(fn), methods=methods) for path, fn, methods in routes],
            lifespan=lifespan,
        )

    def guard(self, endpoint: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            try:
                self.authorize(request)
                return await endpoint(request)
            except MeiliError as exc:
                return JSONResponse(exc.body(), status_code=exc.status)

        return guarded

    def authorize(self, request: Request) -> None:
        if self.master_key is None or request.url.path == "/health":
            return
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            message = (
                "The Authorization header is missing. It must use the bearer authorization method."
            )
            raise MeiliError("missing_authorization_header", message, 401, "auth")
        if not hmac.compare_digest(
            header.removeprefix("Bearer ").encode(), self.master_key.encode()
        ):
            raise MeiliError("invalid_api_key", "The provided API key is invalid.", 403, "auth")

    async def health(self, _: Request) -> Response:
        return JSONResponse({"status": "available"})

    async def version(self, _: Request) -> Response:
        return JSONResponse({"commitSha": "fake", "commitDate": "unknown", "pkgVersion": VERSION})

    async def create_index(self, request: Request) -> Response:
        body = await _json(request)
        if not isinstance(body, dict) or "uid" not in body:
            raise MeiliError("missing_index_uid", "Missing field `uid`")
        uid, key = _checked_uid(body["uid"]), body.get("primaryKey")
        return _accepted(
            self.store.enqueue("indexCreation", uid, {"primaryKey": key}, {"primaryKey": key})
        )

    async def get_index(self, request: Request) -> Response:
        return JSONResponse(self.store.index(_path_uid(request)).view())

    async def get_settings(self, request: Request) -> Response:
        index = self.store.index(_path_uid(request))
        return JSONResponse({name: index.setting(name) for name in DEFAULT_SETTINGS})

    async def update_settings(self, request: Request) -> Response:
        uid, body = _path_uid(request), await _json(request)
        if not isinstance(body, dict):
            raise _bad_type("bad_request", "", "an object", body)
        for name, value in body.items():
            if name not in DEFAULT_SETTINGS:
                expected = ", ".join(f"`{k}`" for k in DEFAULT_SETTINGS)
                raise MeiliError(
                    "bad_request", f"Unknown field `{name}`: expected one of {expected}"
                )
            code = f"invalid_settings_{_snake(name)}"
            if name in LIST_SETTINGS and value is not None:
                if not isinstance(value, list) or not all(
                    isinstance(v, str) or (name == "filterableAttributes" and isinstance(v, dict))
                    for v in value
                ):
                    raise _bad_type(code, name, "an array", value)
                if name == "rankingRules" and not all(RANKING_RULE.fullmatch(r) for r in value):
                    raise MeiliError(code, f"Invalid ranking rule in `{value}`.")
        return _accepted(self.store.enqueue("settingsUpdate", uid, body, dict(body)))

    async def add_documents(self, request: Request) -> Response:
        uid, body = _path_uid(request), await _json(request)
        documents = [body] if isinstance(body, dict) else body
        if not isinstance(documents, list) or not all(isinstance(d, dict) for d in documents):
            message = "The `json` payload provided is malformed. `Couldn't serialize document value: expected an object or an array of objects`."  # noqa: E501
            raise MeiliError("malformed_payload", message)
        payload = {"documents": documents, "primaryKey": request.query_params.get("primaryKey"),
                   "merge": request.method == "PUT"}  # fmt: skip
        details = {"receivedDocuments": len(documents), "indexedDocuments": None}
        return _accepted(self.store.enqueue("documentAdditionOrUpdate", uid, payload, details))

    async def get_document(self, request: Request) -> Response:
        index, doc_id = self.store.index(_path_uid(request)), request.path_params["document_id"]
        if doc_id not in index.documents:
            raise _not_found("Document", doc_id)
        fields = request.query_params.get("fields", "*").split(",")
        displayed = index.setting("displayedAttributes")
        doc = index.documents[doc_id]
        return JSONResponse(
            {k: v for k, v in doc.items() if _selected(k, displayed) and _selected(k, fields)}
        )

    async def delete_document(self, request: Request) -> Response:
        uid, doc_id = _path_uid(request), request.path_params["document_id"]
        details = {"providedIds": 1, "deletedDocuments": None, "originalFilter": None}
        return _accepted(self.store.enqueue("documentDeletion", uid, {"ids": [doc_id]}, details))

    async def search_documents(self, request: Request) -> Response:
        index = self.store.index(_path_uid(request))
        body = await _json(request)
        if not isinstance(body, dict):
            raise _bad_type("bad_request", "", "an object", body)
        return JSONResponse(_search(index, body))

    async def list_tasks(self, request: Request) -> Response:
        params = request.query_params

        def wanted(name: str) -> set[str] | None:
            values = set(params[name].split(",")) - {"*"} if name in params else set()
            return values or None

        uids, statuses, types, index_uids = (
            wanted(n) for n in ("uids", "statuses", "types", "indexUids")
        )
        limit = int(params.get("limit", 20))
        start = int(params["from"]) if "from" in params else len(self.store.tasks)
        selected = [
            t
            for t in sorted(self.store.tasks.values(), key=lambda t: -t.uid)
            if (uids is None or str(t.uid) in uids)
            and (statuses is None or t.status in statuses)
            and (types is None or t.kind in types)
            and (index_uids is None or t.index_uid in index_uids)
        ]
        page = [t for t in selected if t.uid <= start]
        following = page[limit].uid if len(page) > limit else None
        first = page[0].uid if page else None
        return JSONResponse({"results": [t.view() for t in page[:limit]], "total": len(selected),
                             "limit": limit, "from": first, "next": following})  # fmt: skip

    async def get_task(self, request: Request) -> Response:
        raw = request.path_params["task_uid"]
        if not raw.isdigit():
            message = f"Invalid value in parameter `taskUid`: could not parse `{raw}` as an integer"
            raise MeiliError("invalid_task_uids", message)
        if int(raw) not in self.store.tasks:
            raise _not_found("Task", raw)
        return JSONResponse(self.store.tasks[int(raw)].view())


class FakeMeilisearch:
    """A fake Meilisearch on 127.0.0.1 in a background thread; `stop()`/`start()` keep its data."""

    def __init__(self, *, port: int | None = None, master_key: str | None = None) -> None:
        self.port = port or free_port()
        self.master_key = master_key
        self._store = _Store()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Serve on the same port as before; returns once `/health` answers."""
        if self._thread is not None:
            return
        app = _Api(self._store, self.master_key).app()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, log_level="warning",
            access_log=False, lifespan="on", ws="none", http="h11",
        )  # fmt: skip
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, name=f"fake-meilisearch-{self.port}", daemon=True
        )
        thread.start()
        self._server, self._thread = server, thread
        deadline = time.monotonic() + 10
        while not self._answers():
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the fake Meilisearch did not start on {self.url}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Close the port (clients then get connection errors); data and tasks stay."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._server = self._thread = None

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def __enter__(self) -> "FakeMeilisearch":
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
