"""The real Prometheus, Blackbox exporter and Alertmanager configs against the running app.

One test, in the order an operator would look: targets, probes, rules, data, alerts; then the
API stops and the alert has to arrive. It is one test because its last step stops the stack
that the module's fixture started (a second test could land on another xdist worker and start
a second stack).

Which metrics the rules read is found by tokenizing their expressions (tests/observability/
promql.py: Prometheus 2.42 has no parse endpoint); each such name must have data here.
"""

import time
from typing import Any

import pytest

from tests.observability.conftest import LiveMonitoring, LivePrometheus, wait_until
from tests.observability.monitoring import Notification
from tests.observability.promql import load_rules, metric_names
from tests.observability_static.dashboards import promql_expressions

# Services this test cannot run (see conftest): their panels are checked only statically.
NOT_RUNNING_HERE = ('job="meilisearch"', 'job="grafana"', 'job="loki"', 'job="alloy"')

pytestmark = pytest.mark.slow


def _targets(prometheus: LivePrometheus) -> list[dict[str, Any]]:
    targets: list[dict[str, Any]] = prometheus.api("targets", state="active")["activeTargets"]
    return targets


def _rules(prometheus: LivePrometheus) -> list[dict[str, Any]]:
    return [rule for group in prometheus.api("rules")["groups"] for rule in group["rules"]]


def _firing(prometheus: LivePrometheus) -> list[dict[str, str]]:
    return [r["metric"] for r in prometheus.query('ALERTS{alertstate="firing"}')]


def _alerts(notifications: list[Notification], path: str) -> list[dict[str, Any]]:
    return [
        alert
        for notification in notifications
        if notification.path == path
        for alert in notification.body.get("alerts", [])
    ]


def test_monitoring_sees_the_running_stack_and_alerts_when_the_api_stops(
    live_monitoring: LiveMonitoring,
) -> None:
    live = live_monitoring
    prometheus = live.prometheus
    jobs = {job["job_name"] for job in live.config["scrape_configs"]}
    probes = {
        group["labels"]["probe"]
        for job in live.config["scrape_configs"]
        if job["job_name"].startswith("probe_")
        for group in job["static_configs"]
    }
    assert {"api", "caddy", "s3", "prometheus", "alertmanager", "blackbox"} <= jobs
    assert {"website", "readiness", "all_dependencies", "postgres"} <= probes

    # Every target that runs here is scraped successfully.
    wait_until(lambda: all(t["health"] == "up" for t in _targets(prometheus)), 30)
    targets = _targets(prometheus)
    assert {t["labels"]["job"] for t in targets} == jobs
    assert [(t["scrapeUrl"], t["lastError"]) for t in targets if t["health"] != "up"] == []
    assert all(t["labels"]["service"] for t in targets)

    # Every probe succeeds, each under the `probe` label the config gives it.
    results = prometheus.query("probe_success")
    assert {r["metric"]["probe"]: r["value"][1] for r in results} == dict.fromkeys(probes, "1")

    # Every rule of the real files is loaded and evaluates without error.
    rules = load_rules()
    wait_until(lambda: all(r["health"] == "ok" for r in _rules(prometheus)), 20)
    loaded = _rules(prometheus)
    assert sorted(r["name"] for r in loaded) == sorted(rule.name for rule in rules)
    assert [(r["name"], r["lastError"]) for r in loaded if r["health"] != "ok"] == []

    # Every recording rule produces series, and every metric a rule reads has data.
    recorded = {rule.name for rule in rules if not rule.is_alert}
    assert [name for name in sorted(recorded) if not prometheus.query(f"count({name})")] == []
    read = set().union(*(metric_names(rule.expr) for rule in rules)) - recorded
    assert len(read) > 20
    assert [n for n in sorted(read) if not prometheus.query(f'count({{__name__="{n}"}})')] == []

    # On the healthy stack the only alert is the dead-lettered malformed PDF (a warning).
    assert wait_until(
        lambda: any(a["alertname"] == "JobsDeadLettered" for a in _firing(prometheus)), 30
    )
    firing = _firing(prometheus)
    assert [a for a in firing if a["severity"] == "critical"] == [], firing
    assert wait_until(
        lambda: any(
            a["labels"]["alertname"] == "JobsDeadLettered"
            for a in _alerts(live.sink.received(), "/alerts/warning")
        ),
        30,
    ), "the warning did not reach the warning receiver"
    early = [a["labels"] for n in live.sink.received() for a in n.body["alerts"]]
    assert not [a for a in early if a["alertname"] == "TargetDown"], early

    # The API stops: TargetDown for the api job reaches the critical receiver.
    before = len(live.sink.received())
    stopped = time.monotonic()
    # Every Grafana panel's PromQL shows data on this stack (a "No data" panel is a bug).
    # Jobs and series of services that do not run here are named in NOT_RUNNING_HERE.
    empty = [
        (dashboard, title, expr)
        for dashboard, title, expr in promql_expressions()
        if not any(name in expr for name in NOT_RUNNING_HERE) and not prometheus.query(expr)
    ]
    assert empty == [], "\n".join(f"{d} / {t}: {e}" for d, t, e in empty)

    live.stack.stop()

    def api_down() -> list[dict[str, Any]]:
        return [
            alert
            for alert in _alerts(live.sink.received()[before:], "/alerts/critical")
            if alert["status"] == "firing"
            and alert["labels"]["alertname"] == "TargetDown"
            and alert["labels"]["job"] == "api"
        ]

    assert wait_until(lambda: bool(api_down()), 90), (
        f"no TargetDown for api after {time.monotonic() - stopped:.0f}s; "
        f"firing in Prometheus: {_firing(prometheus)}"
    )
    alert = api_down()[0]
    assert alert["labels"] | {"instance": "-"} == {
        "alertname": "TargetDown",
        "job": "api",
        "service": "api",
        "severity": "critical",
        "instance": "-",
    }
    assert alert["annotations"]["runbook_url"].endswith("docs/runbook.md#targetdown")
