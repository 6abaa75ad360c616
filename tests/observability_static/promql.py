"""PromQL as the dashboards write it: template variables, metric names and label names.

Not a PromQL parser (the live test sends every expression to a real Prometheus); this finds
the metric and label names an expression uses, so a typo or a renamed metric fails offline.
"""

import re
from collections.abc import Mapping

from prometheus_client.metrics import MetricWrapperBase

from tests.promql_lexer import GROUPING_OPENING, KEYWORDS, RANGE, STRING

# Grafana's interval variables, and what the live test substitutes for them.
INTERVAL_VARIABLES = {"__rate_interval": "1m", "__interval": "1m", "__auto": "1m", "__range": "1h"}
# Every other variable is a regex alternative, so it stands for ".*".
OTHER_VARIABLE_VALUE = ".*"

TARGET_LABELS = frozenset({"job", "instance"})
# Metrics the stack's exporters write (not app/metrics.py), with their labels.
_PROBE_LABELS = TARGET_LABELS | {"probe"}
_CADDY_LABELS = TARGET_LABELS | {"server", "handler", "host"}
_CADDY_DURATION_LABELS = _CADDY_LABELS | {"code", "method"}
EXTERNAL_METRICS: dict[str, frozenset[str]] = {
    # Prometheus itself, for every scrape target.
    "up": TARGET_LABELS,
    "scrape_duration_seconds": TARGET_LABELS,
    # blackbox_exporter
    "probe_success": _PROBE_LABELS,
    "probe_duration_seconds": _PROBE_LABELS,
    "probe_http_status_code": _PROBE_LABELS,
    "probe_ssl_earliest_cert_expiry": _PROBE_LABELS,
    # Caddy (metrics with per_host)
    "caddy_http_requests_total": _CADDY_LABELS,
    "caddy_http_request_duration_seconds_bucket": _CADDY_DURATION_LABELS | {"le"},
    "caddy_http_request_duration_seconds_sum": _CADDY_DURATION_LABELS,
    "caddy_http_request_duration_seconds_count": _CADDY_DURATION_LABELS,
    "caddy_reverse_proxy_upstreams_healthy": TARGET_LABELS | {"upstream"},
}

_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")
_REGEX_MATCHER = re.compile(r'[A-Za-z_]\w*\s*[=!]~\s*"(?:[^"\\]|\\.)*"')
_GROUPING = re.compile(GROUPING_OPENING + r"([^)]*)\)")  # group 1: the label list
_SELECTOR = re.compile(r"([A-Za-z_:][\w:]*)?\s*\{([^}]*)\}")
_MATCHER_NAME = re.compile(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)")
_TOKEN = re.compile(r"[A-Za-z_:][\w:]*|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\S")
# Compared as written (case-sensitively), so Prometheus's own spellings are added.
_KEYWORDS = KEYWORDS | {"Inf", "NaN"}


def app_metrics() -> dict[str, frozenset[str]]:
    """Series names the app exposes (from the collectors app/metrics.py registers) and labels."""
    from app import metrics

    series: dict[str, frozenset[str]] = {}
    for value in vars(metrics).values():
        if not isinstance(value, MetricWrapperBase):
            continue
        labels = TARGET_LABELS | frozenset(value._labelnames)
        for family in value.describe():
            if family.type == "counter":
                series[family.name + "_total"] = labels
            elif family.type == "histogram":
                series[family.name + "_bucket"] = labels | {"le"}
                series[family.name + "_sum"] = labels
                series[family.name + "_count"] = labels
            elif family.type == "summary":
                series[family.name + "_sum"] = labels
                series[family.name + "_count"] = labels
            else:
                series[family.name] = labels
    return series


def known_metrics() -> dict[str, frozenset[str]]:
    return {**EXTERNAL_METRICS, **app_metrics()}


def variables(expr: str) -> list[str]:
    return [next(g for g in match.groups() if g) for match in _VARIABLE.finditer(expr)]


def substitute(expr: str) -> str:
    """The expression with Grafana's variables replaced as the live test replaces them."""

    def value(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        return INTERVAL_VARIABLES.get(name, OTHER_VARIABLE_VALUE)

    return _VARIABLE.sub(value, expr)


def check_variable_placement(expr: str) -> list[str]:
    """Interval variables only inside [...]; other variables only inside =~/!~ matchers."""
    regex_spans = [m.span() for m in _REGEX_MATCHER.finditer(expr)]
    range_spans = [m.span() for m in RANGE.finditer(expr)]
    problems = []
    for match in _VARIABLE.finditer(expr):
        name = next(g for g in match.groups() if g)
        spans = range_spans if name in INTERVAL_VARIABLES else regex_spans
        if not any(start <= match.start() and match.end() <= end for start, end in spans):
            where = "a [range]" if name in INTERVAL_VARIABLES else 'a =~"..." matcher'
            problems.append(f"${name} is used outside {where}: {expr}")
    return problems


def _balanced(text: str) -> bool:
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for char in text:
        if char in "([{":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            return False
    return not stack


def check_promql(expr: str, known: Mapping[str, frozenset[str]]) -> list[str]:
    """Problems with the names an expression uses (after variable substitution)."""
    if not expr.strip():
        return ["empty expression"]
    problems = check_variable_placement(expr)
    text = STRING.sub('""', substitute(expr))
    if not _balanced(text):
        return [*problems, f"unbalanced brackets: {expr}"]
    all_labels = frozenset().union(*known.values())
    for match in _GROUPING.finditer(text):
        for label in filter(None, (part.strip() for part in match.group(1).split(","))):
            if label not in all_labels:
                problems.append(
                    f"grouping label {label!r} is not a label of any known metric: {expr}"
                )
    text = _GROUPING.sub(" ", text)
    for match in _SELECTOR.finditer(text):
        metric = match.group(1)
        if metric is None or metric in _KEYWORDS:
            problems.append(f"selector without a metric name: {expr}")
            continue
        for label in _MATCHER_NAME.findall(match.group(2)):
            if metric in known and label not in known[metric]:
                problems.append(f"{metric} has no label {label!r}: {expr}")
    text = RANGE.sub(" ", _SELECTOR.sub(lambda m: f" {m.group(1) or ''} ", text))
    tokens = _TOKEN.findall(text)
    for i, token in enumerate(tokens):
        if not re.match(r"[A-Za-z_:]", token) or token in _KEYWORDS:
            continue
        if i + 1 < len(tokens) and tokens[i + 1] == "(":
            continue  # a function or an aggregation
        if token not in known:
            problems.append(f"unknown metric {token!r}: {expr}")
    return problems
