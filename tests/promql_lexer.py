"""The lexical pieces of PromQL that both offline PromQL readers strip or recognise.

tests/observability/promql.py finds the metric names a rule reads; tests/observability_static/
promql.py checks the metric and label names a dashboard query uses. Each reads the grouping
label list its own way, so this module holds the clause's opening and each adds its list.
"""

import re

# String literals, in any of PromQL's three quotes: nothing inside one is a name.
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
# A range or subquery duration: [5m], [1h:1m].
RANGE = re.compile(r"\[[^\]]*\]")
GROUPING_KEYWORDS = ("by", "without", "on", "ignoring", "group_left", "group_right")
# `by (`, `on(`, ...: what precedes a grouping label list.
GROUPING_OPENING = r"\b(?:" + "|".join(GROUPING_KEYWORDS) + r")\s*\("
# Words that can stand where a metric name could, yet are not one.
KEYWORDS = frozenset(
    {*GROUPING_KEYWORDS, "and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"}
)
