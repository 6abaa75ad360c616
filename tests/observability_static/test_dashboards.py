"""config/grafana/dashboards/*.json: structure, data sources, PromQL names and LogQL labels.

Grafana is not run here. The PromQL is only checked for the names it uses; the live test
evaluates `dashboards.promql_expressions()` against a real Prometheus.
"""

import copy
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.observability_static import alloy, logql, promql
from tests.observability_static.config_files import (
    ALLOY,
    DASHBOARDS,
    DATASOURCES,
    PROMTAIL,
    load_yaml,
)
from tests.observability_static.dashboards import (
    Dashboard,
    check_dashboard,
    check_dashboard_set,
    load_dashboards,
    logql_expressions,
    loki_variable_labels,
    panels,
    prometheus_variable_queries,
    promql_expressions,
    queries,
)

DASHBOARD_UIDS = {
    "contact-api-overview",
    "contact-uploads-processing",
    "contact-db-pool",
    "contact-probes-uptime",
    "contact-logs",
}
BOARDS = load_dashboards()
KNOWN_METRICS = promql.known_metrics()


def datasources() -> dict[str, str]:
    from tests.observability_static.config_files import datasource_types

    return datasource_types(load_yaml(DATASOURCES))


def raw_promql(dashboards: dict[str, Dashboard]) -> list[tuple[str, str, str]]:
    return [
        (str(d["uid"]), str(panel.get("title")), str(target.get("expr", "")))
        for d in dashboards.values()
        for panel, target, kind in queries(d)
        if kind == "prometheus"
    ]


def test_the_dashboards_are_there() -> None:
    assert {d["uid"] for d in BOARDS.values()} == DASHBOARD_UIDS
    assert check_dashboard_set(BOARDS) == []


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_dashboard_is_valid(name: str) -> None:
    assert check_dashboard(BOARDS[name], datasources()) == []


def _first_query_panel(board: Dashboard) -> dict[str, object]:
    return next(p for p in panels(board) if p.get("targets"))


def _nested_panel_reuses_an_id(board: Dashboard) -> None:
    row = next(p for p in board["panels"] if p.get("panels"))
    row["panels"][0]["id"] = board["panels"][0]["id"]


BROKEN: list[tuple[str, Callable[[Dashboard], None], str]] = [
    ("schema", lambda b: b.update(schemaVersion=41), "schemaVersion is 41"),
    ("inputs", lambda b: b.update(__inputs=[{"name": "DS_PROMETHEUS"}]), "__inputs"),
    (
        "ds-placeholder",
        lambda b: _first_query_panel(b).update(
            datasource={"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
        ),
        "${DS_",
    ),
    ("nested-duplicate-id", _nested_panel_reuses_an_id, "duplicate panel ids"),
    (
        "unknown-uid",
        lambda b: _first_query_panel(b).update(datasource={"type": "prometheus", "uid": "prom"}),
        "'prom' is not provisioned",
    ),
    (
        "wrong-type",
        lambda b: _first_query_panel(b).update(datasource={"type": "loki", "uid": "prometheus"}),
        "has type 'prometheus', not 'loki'",
    ),
    (
        "name-only",
        lambda b: _first_query_panel(b).update(datasource="Prometheus"),
        "datasource must be",
    ),
    (
        "empty-expr",
        lambda b: _first_query_panel(b).update(targets=[{"refId": "A", "expr": " "}]),
        "empty expr",
    ),
    ("v2-schema", lambda b: b.update(elements={}), "v2 dashboard schema"),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [(m, e) for _, m, e in BROKEN], ids=[n for n, _, _ in BROKEN]
)
def test_broken_dashboard_is_reported(
    tmp_path: Path, mutate: Callable[[Dashboard], None], expected: str
) -> None:
    board = copy.deepcopy(BOARDS["api-overview.json"])
    mutate(board)
    (tmp_path / "api-overview.json").write_text(json.dumps(board), encoding="utf-8")
    problems = check_dashboard(load_dashboards(tmp_path)["api-overview.json"], datasources())
    assert any(expected in p for p in problems), problems


def test_duplicate_dashboard_uid_is_reported(tmp_path: Path) -> None:
    shutil.copytree(DASHBOARDS, tmp_path, dirs_exist_ok=True)
    copy_of_logs = json.loads((tmp_path / "logs.json").read_text())
    copy_of_logs["title"] = "Another title"
    (tmp_path / "logs-copy.json").write_text(json.dumps(copy_of_logs))
    assert check_dashboard_set(load_dashboards(tmp_path)) == [
        "dashboards share a uid: ['contact-logs']"
    ]


# --------------------------------------------------------------------------- PromQL


def test_every_dashboard_has_prometheus_or_loki_queries() -> None:
    for board in BOARDS.values():
        kinds = {kind for _, _, kind in queries(board)}
        assert kinds in ({"prometheus"}, {"loki"}), (board["uid"], kinds)


@pytest.mark.parametrize(
    ("uid", "title", "expr"), raw_promql(BOARDS), ids=[f"{u}:{t}" for u, t, _ in raw_promql(BOARDS)]
)
def test_promql_uses_known_names(uid: str, title: str, expr: str) -> None:
    assert promql.check_promql(expr, KNOWN_METRICS) == []


def check_variable_queries(board: Dashboard) -> list[str]:
    problems = []
    for name, selector, label in prometheus_variable_queries(board):
        problems += [f"${name}: {p}" for p in promql.check_promql(selector, KNOWN_METRICS)]
        metric = selector.split("{")[0]
        if label not in KNOWN_METRICS.get(metric, frozenset()):
            problems.append(f"${name}: {metric} has no label {label!r}")
    return problems


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_prometheus_variables_list_known_labels(name: str) -> None:
    assert check_variable_queries(BOARDS[name]) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("label_values(http_request_total, job)", "unknown metric 'http_request_total'"),
        ("label_values(http_requests_total, path)", "http_requests_total has no label 'path'"),
    ],
)
def test_broken_prometheus_variable_is_reported(tmp_path: Path, query: str, expected: str) -> None:
    board = copy.deepcopy(BOARDS["api-overview.json"])
    board["templating"]["list"][0]["query"]["query"] = query
    (tmp_path / "broken.json").write_text(json.dumps(board), encoding="utf-8")
    problems = check_variable_queries(load_dashboards(tmp_path)["broken.json"])
    assert any(expected in p for p in problems), problems


def test_known_metrics_come_from_app_metrics() -> None:
    app = promql.app_metrics()
    assert app["http_requests_total"] >= {"method", "route", "status"}
    assert app["http_request_duration_seconds_bucket"] >= {"method", "route", "le"}
    assert app["db_pool_timeouts_total"] == {"job", "instance"}
    assert "http_requests" not in app


def test_promql_expressions_are_standalone() -> None:
    expressions = promql_expressions()
    assert len(expressions) == len(raw_promql(BOARDS)) > 40
    for uid, title, expr in expressions:
        assert "$" not in expr, (uid, title, expr)
        assert "[[" not in expr, (uid, title, expr)
    assert any("[1m]" in expr for _, _, expr in expressions)
    assert any('route=~".*"' in expr for _, _, expr in expressions)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("sum(rate(http_request_total[5m]))", "unknown metric 'http_request_total'"),
        ('sum(db_pool_connections{route=~"$route"})', "db_pool_connections has no label 'route'"),
        ("sum by (stauts) (rate(http_requests_total[5m]))", "grouping label 'stauts'"),
        ('sum(rate(http_requests_total{route="$route"}[5m]))', "$route is used outside"),
        (
            "sum(rate(http_requests_total[5m])) / $__rate_interval",
            "$__rate_interval is used outside",
        ),
        ("sum(rate(http_requests_total[5m])", "unbalanced brackets"),
        ("", "empty expression"),
    ],
)
def test_broken_promql_is_reported(tmp_path: Path, expr: str, expected: str) -> None:
    board = copy.deepcopy(BOARDS["api-overview.json"])
    _first_query_panel(board)["targets"] = [
        {"refId": "A", "expr": expr, "datasource": {"type": "prometheus", "uid": "prometheus"}}
    ]
    (tmp_path / "broken.json").write_text(json.dumps(board), encoding="utf-8")
    (broken,) = [e for _, _, e in raw_promql(load_dashboards(tmp_path)) if e == expr]
    problems = promql.check_promql(broken, KNOWN_METRICS)
    assert any(expected in p for p in problems), problems


# --------------------------------------------------------------------------- LogQL


def shipper_labels() -> dict[str, set[str]]:
    return {
        "alloy": alloy.produced_labels(ALLOY.read_text(encoding="utf-8")),
        "promtail": logql.promtail_labels(load_yaml(PROMTAIL)),
    }


def test_logs_dashboard_queries() -> None:
    exprs = {e for _, _, e in logql_expressions(BOARDS)}
    assert '{service="api"} | json' in exprs
    assert '{service=~"api|worker|caddy"} |= "$request_id"' in exprs
    assert logql_expressions(BOARDS)


@pytest.mark.parametrize("shipper", ["alloy", "promtail"])
def test_logql_labels_are_set_by_the_shipper(shipper: str) -> None:
    labels = shipper_labels()[shipper]
    problems = [p for _, _, e in logql_expressions(BOARDS) for p in logql.check_logql(e, labels)]
    for board in BOARDS.values():
        problems += [
            f"variable lists {name!r}" for name in loki_variable_labels(board) if name not in labels
        ]
    assert problems == []


def test_both_shippers_set_the_same_labels() -> None:
    labels = shipper_labels()
    assert labels["alloy"] == labels["promtail"]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('{app="api"} | json', "label 'app' is not set"),
        ('sum(count_over_time({service="api", lvl="error"} [1m]))', "label 'lvl' is not set"),
        ('{} |= "x"', "unreadable stream selector"),
        ('{service~"api"}', "unreadable stream selector"),
        ("sum(rate(http_requests_total[5m]))", "no stream selector"),
    ],
)
def test_broken_logql_is_reported(expr: str, expected: str) -> None:
    problems = logql.check_logql(expr, shipper_labels()["alloy"])
    assert any(expected in p for p in problems), problems


def test_alloy_without_the_service_label_breaks_the_dashboards(tmp_path: Path) -> None:
    text = ALLOY.read_text(encoding="utf-8").replace(
        'target_label  = "service"', 'target_label  = "svc"'
    )
    broken = tmp_path / "config.alloy"
    broken.write_text(text, encoding="utf-8")
    labels = alloy.produced_labels(broken.read_text(encoding="utf-8"))
    problems = [p for _, _, e in logql_expressions(BOARDS) for p in logql.check_logql(e, labels)]
    assert any("label 'service' is not set" in p for p in problems)


def test_promtail_without_the_level_label_breaks_the_dashboards(tmp_path: Path) -> None:
    document = load_yaml(PROMTAIL)
    stages = document["scrape_configs"][0]["pipeline_stages"]
    document["scrape_configs"][0]["pipeline_stages"] = [s for s in stages if "labels" not in s]
    broken = tmp_path / "promtail.yaml"
    broken.write_text(json.dumps(document), encoding="utf-8")  # JSON is YAML
    labels = logql.promtail_labels(load_yaml(broken))
    problems = [p for _, _, e in logql_expressions(BOARDS) for p in logql.check_logql(e, labels)]
    assert any("label 'level' is not set" in p for p in problems)


def test_runbook_names_panels_that_exist() -> None:
    """The runbook sends people to panels by name; each quoted name must be a real panel."""
    titles = {str(p.get("title")) for d in load_dashboards().values() for p in panels(d)}
    runbook = (Path(__file__).resolve().parents[2] / "docs" / "runbook.md").read_text()
    quoted = set(re.findall(r'"([A-Z][^"\n]{2,60})"', runbook))
    assert quoted - titles == set()
