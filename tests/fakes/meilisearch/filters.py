"""Filters: the documented grammar, compiled to predicates over documents."""

import fnmatch
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.fakes.meilisearch.documents import Doc, _facet, _flat, _raw
from tests.fakes.meilisearch.errors import MeiliError, _bad_type, _unsupported
from tests.fakes.meilisearch.indexes import _Index

Predicate = Callable[[Doc], bool]
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
FILTER_TOKEN = re.compile(
    r"(?P<op>!=|>=|<=|=|>|<)|(?P<punct>[()\[\],])|\"(?P<dq>(?:\\.|[^\"\\])*)\""
    r"|'(?P<sq>(?:\\.|[^'\\])*)'|(?P<word>[^\s()\[\],=!<>\"']+)|(?P<bad>\S)"
)
KEYWORDS = {"AND", "OR", "NOT", "IN", "TO", "EXISTS", "IS", "EMPTY", "NULL"}
COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


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
