"""The provisioned Grafana dashboards: loading, walking their panels, checking them.

`promql_expressions()` is what the live test evaluates against a real Prometheus: every
Prometheus query of every dashboard, with Grafana's variables substituted ($__rate_interval and
the other interval variables become a duration, every other variable becomes ".*", which the
dashboards only use inside =~ matchers).
"""

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.observability_static import promql
from tests.observability_static.config_files import DASHBOARDS

SCHEMA_VERSION = 42  # What Grafana 12.2+ writes for classic (v1) dashboard JSON.
PANELS_WITHOUT_QUERIES = frozenset({"row", "text", "dashlist", "news"})

Dashboard = dict[str, Any]
Panel = dict[str, Any]


def load_dashboards(directory: Path = DASHBOARDS) -> dict[str, Dashboard]:
    """File name -> parsed dashboard, for every *.json in the directory."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*.json"))
    }


def panels(dashboard: Dashboard) -> Iterator[Panel]:
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels") or []:
        yield panel
        yield from panel.get("panels") or []


def queries(dashboard: Dashboard) -> Iterator[tuple[Panel, dict[str, Any], str]]:
    """(panel, target, data source type) for every query of every panel."""
    for panel in panels(dashboard):
        panel_ds = panel.get("datasource") or {}
        for target in panel.get("targets") or []:
            ds = target.get("datasource") or panel_ds
            kind = ds.get("type", "") if isinstance(ds, dict) else ""
            yield panel, target, str(kind)


def promql_expressions() -> list[tuple[str, str, str]]:
    """(dashboard uid, panel title, PromQL with variables substituted) for each Prometheus query."""
    return [
        (str(dashboard["uid"]), str(panel.get("title", "")), promql.substitute(target["expr"]))
        for dashboard in load_dashboards().values()
        for panel, target, kind in queries(dashboard)
        if kind == "prometheus"
    ]


def logql_expressions(dashboards: Mapping[str, Dashboard]) -> list[tuple[str, str, str]]:
    """(dashboard uid, panel title, LogQL) for every Loki query, variables left as they are."""
    return [
        (str(dashboard["uid"]), str(panel.get("title", "")), str(target.get("expr", "")))
        for dashboard in dashboards.values()
        for panel, target, kind in queries(dashboard)
        if kind == "loki"
    ]


def prometheus_variable_queries(dashboard: Dashboard) -> list[tuple[str, str, str]]:
    """(variable name, series selector, label) of each `label_values(selector, label)` variable."""
    found = []
    for variable in (dashboard.get("templating") or {}).get("list") or []:
        ds = variable.get("datasource") or {}
        if variable.get("type") != "query" or not isinstance(ds, dict):
            continue
        if ds.get("type") != "prometheus":
            continue
        query = variable.get("query")
        text = str(query.get("query", "") if isinstance(query, dict) else query).strip()
        inner = text.removeprefix("label_values(").removesuffix(")")
        selector, _, label = inner.rpartition(",")
        found.append((str(variable.get("name")), selector.strip(), label.strip()))
    return found


def loki_variable_labels(dashboard: Dashboard) -> list[str]:
    """Labels that the dashboard's Loki query variables list values of."""
    labels = []
    for variable in (dashboard.get("templating") or {}).get("list") or []:
        ds = variable.get("datasource") or {}
        if variable.get("type") != "query" or not isinstance(ds, dict) or ds.get("type") != "loki":
            continue
        query = variable.get("query")
        if isinstance(query, dict):
            labels.append(str(query.get("label", "")))
        else:
            labels.append(
                str(query).removeprefix("label_values(").rstrip(")").split(",")[-1].strip()
            )
    return labels


def _check_datasource(where: str, ds: Any, datasources: Mapping[str, str]) -> list[str]:
    if not isinstance(ds, dict) or not ds.get("uid") or not ds.get("type"):
        return [f"{where}: datasource must be {{'type': ..., 'uid': ...}}, found {ds!r}"]
    uid, kind = ds["uid"], ds["type"]
    if uid not in datasources:
        return [f"{where}: data source uid {uid!r} is not provisioned"]
    if datasources[uid] != kind:
        return [f"{where}: data source {uid!r} has type {datasources[uid]!r}, not {kind!r}"]
    return []


def check_dashboard(dashboard: Dashboard, datasources: Mapping[str, str]) -> list[str]:
    """Structure, ids and data source references of one classic (v1) dashboard."""
    problems = []
    text = json.dumps(dashboard)
    if "__inputs" in dashboard or "__requires" in dashboard:
        problems.append(
            "exported for sharing (__inputs/__requires): provisioning does not resolve them"
        )
    if "${DS_" in text:
        problems.append("contains ${DS_...} placeholders")
    if dashboard.get("schemaVersion") != SCHEMA_VERSION:
        problems.append(
            f"schemaVersion is {dashboard.get('schemaVersion')!r}, not {SCHEMA_VERSION}"
        )
    if "apiVersion" in dashboard or "elements" in dashboard or "spec" in dashboard:
        problems.append("looks like the v2 dashboard schema, which file provisioning rejects")
    for key in ("uid", "title"):
        if not dashboard.get(key):
            problems.append(f"no {key}")
    ids: list[Any] = []
    for panel in panels(dashboard):
        title = panel.get("title", "?")
        where = f"panel {panel.get('id')!r} {title!r}"
        ids.append(panel.get("id"))
        if not isinstance(panel.get("id"), int):
            problems.append(f"{where}: id is not an integer")
        if panel.get("type") in PANELS_WITHOUT_QUERIES:
            continue
        problems.extend(_check_datasource(where, panel.get("datasource"), datasources))
        targets = panel.get("targets") or []
        if not targets:
            problems.append(f"{where}: no queries")
        for target in targets:
            if "datasource" in target:
                problems.extend(_check_datasource(where, target["datasource"], datasources))
            if not str(target.get("expr", "")).strip():
                problems.append(f"{where}: query {target.get('refId')!r} has an empty expr")
    duplicates = sorted({i for i in ids if ids.count(i) > 1}, key=str)
    if duplicates:
        problems.append(f"duplicate panel ids: {duplicates}")
    for variable in (dashboard.get("templating") or {}).get("list") or []:
        if variable.get("type") == "query":
            where = f"variable {variable.get('name')!r}"
            problems.extend(_check_datasource(where, variable.get("datasource"), datasources))
    return problems


def check_dashboard_set(dashboards: Mapping[str, Dashboard]) -> list[str]:
    problems = []
    for key in ("uid", "title"):
        values = [d.get(key) for d in dashboards.values()]
        duplicates = sorted({str(v) for v in values if values.count(v) > 1})
        if duplicates:
            problems.append(f"dashboards share a {key}: {duplicates}")
    return problems
