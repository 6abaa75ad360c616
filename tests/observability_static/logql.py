"""LogQL stream selectors, and the labels the log shippers give each stream.

A stream selector can only match labels that Alloy (or Promtail) attaches to a stream; a query
on any other label returns nothing, silently. These helpers find both sides.
"""

import re
from collections.abc import Iterator
from typing import Any

_MATCHER = re.compile(r'\s*([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|`[^`]*`)\s*(?:,|$)')


def selectors(expr: str) -> Iterator[str]:
    """The contents of every `{...}` outside string literals (each is a stream selector)."""
    i, n = 0, len(expr)
    while i < n:
        char = expr[i]
        if char in '"`':
            end = i + 1
            while end < n and expr[end] != char:
                end += 2 if char == '"' and expr[end] == "\\" else 1
            i = end + 1
        elif char == "{":
            start = i + 1
            i = start
            while i < n and expr[i] != "}":
                if expr[i] in '"`':
                    quote = expr[i]
                    i += 1
                    while i < n and expr[i] != quote:
                        i += 2 if quote == '"' and expr[i] == "\\" else 1
                i += 1
            yield expr[start:i]
            i += 1
        else:
            i += 1


def selector_labels(selector: str) -> list[str] | None:
    """Label names in one selector, or None when it is not a list of matchers."""
    text = selector.strip()
    labels = []
    pos = 0
    while pos < len(text):
        match = _MATCHER.match(text, pos)
        if match is None:
            return None
        labels.append(match.group(1))
        pos = match.end()
    return labels


def check_logql(expr: str, labels: set[str]) -> list[str]:
    """Problems with a LogQL expression's stream selectors, given the labels streams carry."""
    if not expr.strip():
        return ["empty expression"]
    found = list(selectors(expr))
    if not found:
        return [f"no stream selector: {expr}"]
    problems = []
    for selector in found:
        names = selector_labels(selector)
        if not names:
            problems.append(f"unreadable stream selector {{{selector}}}: {expr}")
            continue
        problems.extend(
            f"label {name!r} is not set by the log shipper: {expr}"
            for name in names
            if name not in labels
        )
    return problems


def promtail_labels(config: dict[str, Any]) -> set[str]:
    """Index labels Promtail sets: relabel target labels, static labels and the labels stage."""
    labels: set[str] = set()
    for scrape in config.get("scrape_configs") or []:
        for rule in scrape.get("relabel_configs") or []:
            target = rule.get("target_label")
            if (
                rule.get("action", "replace") == "replace"
                and target
                and not target.startswith("__")
            ):
                labels.add(target)
        for static in scrape.get("static_configs") or []:
            labels.update((static.get("labels") or {}).keys())
        for stage in _stages(scrape.get("pipeline_stages") or []):
            for kind in ("labels", "static_labels"):
                if kind in stage:
                    labels.update((stage[kind] or {}).keys())
    return labels


def promtail_structured_metadata(config: dict[str, Any]) -> set[str]:
    keys: set[str] = set()
    for scrape in config.get("scrape_configs") or []:
        for stage in _stages(scrape.get("pipeline_stages") or []):
            if "structured_metadata" in stage:
                keys.update((stage["structured_metadata"] or {}).keys())
    return keys


def _stages(stages: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for stage in stages:
        yield stage
        match = stage.get("match")
        if isinstance(match, dict):
            yield from _stages(match.get("stages") or [])
