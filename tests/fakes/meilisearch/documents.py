"""Documents: values by attribute path."""

import re
from collections.abc import Iterator
from typing import Any

Doc = dict[str, Any]
DOCUMENT_ID = re.compile(r"[A-Za-z0-9_-]{1,511}")


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
