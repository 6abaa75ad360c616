"""Search: parameters, matching and ranking, then highlighting and cropping in `_formatted`."""

import itertools
import re
import time
from dataclasses import dataclass
from typing import Any

from tests.fakes.meilisearch.documents import Doc, _leaves, _num, _selected, _sort_value, _text
from tests.fakes.meilisearch.errors import MeiliError, _bad_type, _snake, _unsupported
from tests.fakes.meilisearch.filters import _compile_filter
from tests.fakes.meilisearch.indexes import _Index
from tests.fakes.meilisearch.text import _normalize, _Query, _Token, _tokenize

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
