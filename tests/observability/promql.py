"""The metric names a PromQL expression reads, and the rules of this repository's rule files.

Prometheus 2.42 has no endpoint that returns a parsed expression, and no PromQL parser is
installed for Python, so names are found with a small tokenizer instead. It removes what cannot
be a metric name (strings, label matchers, range and offset durations, grouping label lists,
function calls, keywords, numbers) and keeps the remaining identifiers. tests/observability/
test_promql.py pins its behaviour on the constructs the rule files use.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO
from tests.promql_lexer import GROUPING_OPENING, KEYWORDS, RANGE, STRING

RULES_DIR = REPO / "config" / "prometheus" / "rules"

_COMMENT = re.compile(r"#[^\n]*")
_MATCHERS = re.compile(r"\{[^{}]*\}")
_OFFSET = re.compile(r"\b(?:offset|@)\s*-?[\w.]+")
_GROUPING = re.compile(GROUPING_OPENING + r"[^()]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?")
# Compared in lower case, as Prometheus compares them; `start`/`end` are the `@` modifiers.
_KEYWORDS = KEYWORDS | {"start", "end"}


def metric_names(expr: str) -> set[str]:
    """Names of the series `expr` selects (recording-rule outputs included)."""
    text = _COMMENT.sub(" ", STRING.sub('""', expr))
    text = _GROUPING.sub(" ", _OFFSET.sub(" ", RANGE.sub(" ", _MATCHERS.sub(" ", text))))
    names: set[str] = set()
    for match in _IDENTIFIER.finditer(text):
        name, call = match.group(1), match.group(2)
        if call is None and name.lower() not in _KEYWORDS:
            names.add(name)
    return names


@dataclass(frozen=True)
class Rule:
    file: Path
    name: str  # `record` or `alert`
    expr: str
    raw: dict[str, Any]

    @property
    def is_alert(self) -> bool:
        return "alert" in self.raw


def load_rules(rules_dir: Path = RULES_DIR) -> list[Rule]:
    rules: list[Rule] = []
    for path in sorted(rules_dir.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for raw in group["rules"]:
                name = raw.get("record") or raw["alert"]
                rules.append(Rule(file=path, name=name, expr=raw["expr"], raw=raw))
    return rules
