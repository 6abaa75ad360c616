"""config/alertmanager/: routing by severity, the message template, and the inhibition rules,
on Debian's amtool and on a real Alertmanager."""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.postgres import free_port
from tests.observability import monitoring
from tests.observability.monitoring import (
    ALERTMANAGER_YML,
    TEMPLATES,
    loopback_client,
    run_tool,
)

TARGET_DOWN_API = {
    "alertname": "TargetDown",
    "job": "api",
    "service": "api",
    "instance": "10.0.0.5:8000",
    "severity": "critical",
}


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        ({"alertname": "TargetDown", "severity": "critical"}, "critical"),
        ({"alertname": "JobsDeadLettered", "severity": "warning"}, "warning"),
        ({"alertname": "Watchdog"}, "warning"),  # no severity: the default receiver
    ],
)
def test_alerts_are_routed_by_severity(labels: dict[str, str], receiver: str) -> None:
    pairs = [f"{name}={value}" for name, value in labels.items()]
    result = run_tool(
        "amtool", "config", "routes", "test", f"--config.file={ALERTMANAGER_YML}", *pairs
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == receiver


def test_message_template_renders_an_alert(tmp_path: Path) -> None:
    alert = {
        "status": "firing",
        "labels": TARGET_DOWN_API,
        "annotations": {
            "summary": "api target 10.0.0.5:8000 is down",
            "description": "Prometheus could not scrape it.",
            "runbook_url": "https://github.com/example/contact-stack/blob/main/docs/runbook.md#targetdown",
        },
        "startsAt": "2026-11-25T01:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://localhost:8080/prometheus/graph?g0.expr=up",
        "fingerprint": "1",
    }
    data = {
        "receiver": "critical",
        "status": "firing",
        "alerts": [alert],
        "groupLabels": {"alertname": "TargetDown", "job": "api"},
        "commonLabels": TARGET_DOWN_API,
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://localhost:8080/alertmanager",
    }
    (tmp_path / "data.json").write_text(json.dumps(data))
    result = run_tool(
        "amtool", "template", "render",
        f"--template.glob={TEMPLATES}/*.tmpl",
        f"--template.data={tmp_path / 'data.json'}",
        '--template.text={{ template "contact_stack.title" . }}\n'
        '{{ template "contact_stack.text" . }}',
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "[FIRING:1] TargetDown api (critical)",
        "FIRING: api target 10.0.0.5:8000 is down",
        "Prometheus could not scrape it.",
        "Labels: alertname=TargetDown instance=10.0.0.5:8000 job=api service=api severity=critical",
        "Since: 2026-11-25 01:00:00 UTC",
        "Runbook: https://github.com/example/contact-stack/blob/main/docs/runbook.md#targetdown",
        "Graph: http://localhost:8080/prometheus/graph?g0.expr=up",
        "",
        "Alertmanager: http://localhost:8080/alertmanager",
    ]


def test_rendering_an_unknown_template_fails() -> None:
    result = run_tool(
        "amtool", "template", "render",
        f"--template.glob={TEMPLATES}/*.tmpl", '--template.text={{ template "nope" . }}',
    )  # fmt: skip
    assert result.returncode != 0
    assert 'template "nope" not defined' in result.stderr


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """The real config (webhooks pointed at a local receiver), on a real Alertmanager."""
    with monitoring.webhook_sink() as sink:
        config = monitoring.alertmanager_config(
            yaml.safe_load(ALERTMANAGER_YML.read_text()), webhook_base=sink.url
        )
        port = free_port()
        server = monitoring.alertmanager_server(
            monitoring.write_yaml(tmp_path / "alertmanager.yml", config), tmp_path, port
        )
        with monitoring.all_running(server):
            yield f"http://127.0.0.1:{port}/alertmanager/api/v2"


def _status(api: str, labels: dict[str, str]) -> dict[str, Any]:
    with loopback_client() as client:
        alerts = client.get(f"{api}/alerts").json()
    found: list[dict[str, Any]] = [a for a in alerts if a["labels"] == labels]
    assert len(found) == 1, (labels, alerts)
    return found[0]


LOKI_DOWN = {"alertname": "TargetDown", "job": "loki", "service": "loki", "severity": "warning"}
S3_DOWN = {"alertname": "TargetDown", "job": "s3", "service": "s3", "severity": "warning"}

# (source, target, inhibited). Where the target stays active, a second target that the source
# does mute shows that the inhibitor had seen the source when the first was checked.
SOURCE_AND_TARGET = [
    # A service that cannot be scraped mutes its symptoms...
    (TARGET_DOWN_API, {"alertname": "HighErrorRatio", "job": "api", "service": "api"}, True),
    # ...but not another service's.
    (LOKI_DOWN, {"alertname": "HighErrorRatio", "job": "api", "service": "api"}, False),
    # The edge is down: probes through it fail too.
    (
        {"alertname": "TargetDown", "job": "caddy", "service": "caddy", "severity": "critical"},
        {
            "alertname": "ReadinessFailing",
            "service": "api",
            "probe": "readiness",
            "instance": "http://caddy:8081/health/ready",
        },
        True,
    ),
    # PostgreSQL refuses connections: the API's readiness follows.
    (
        {"alertname": "ProbeFailing", "probe": "postgres", "service": "postgres"},
        {"alertname": "ReadinessFailing", "service": "api", "dependency": "database"},
        True,
    ),
    # Not ready at all: "degraded" adds nothing.
    (
        {"alertname": "ReadinessFailing", "service": "api", "dependency": "database"},
        {"alertname": "DependencyDegraded", "service": "api", "dependency": "storage"},
        True,
    ),
    # The object store is down: the API's report of storage follows, of search not.
    (S3_DOWN, {"alertname": "DependencyDegraded", "service": "api", "dependency": "storage"}, True),
    (S3_DOWN, {"alertname": "DependencyDegraded", "service": "api", "dependency": "search"}, False),
    # A critical alert mutes the same alert's warning for the same service.
    (
        {
            "alertname": "ProbeFailing",
            "service": "api",
            "probe": "db_check",
            "severity": "critical",
        },
        {
            "alertname": "ProbeFailing",
            "service": "api",
            "probe": "api_health",
            "severity": "warning",
        },
        True,
    ),
]
# What each source of a case whose target stays active does mute.
MUTED_BY = {
    "loki": {"alertname": "ProbeFailing", "service": "loki", "probe": "loki_ready"},
    "s3": {"alertname": "DependencyDegraded", "service": "api", "dependency": "storage"},
}


def _wait_for_inhibition(api: str, labels: dict[str, str], expected: list[str]) -> None:
    # The inhibitor learns about new source alerts asynchronously.
    deadline = time.monotonic() + 10
    while _status(api, labels)["status"]["inhibitedBy"] != expected:
        if time.monotonic() > deadline:
            return
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.parametrize(("source", "target", "inhibited"), SOURCE_AND_TARGET)
def test_inhibition_rules(
    alertmanager: str, source: dict[str, str], target: dict[str, str], inhibited: bool
) -> None:
    source = {"severity": "critical"} | source
    target = {"severity": "warning"} | target
    alerts = [source, target]
    muted = None if inhibited else {"severity": "warning"} | MUTED_BY[source["service"]]
    if muted is not None:
        alerts.append(muted)
    with loopback_client() as client:
        posted = client.post(f"{alertmanager}/alerts", json=[{"labels": a} for a in alerts])
    assert posted.status_code == 200, posted.text
    source_fingerprint = _status(alertmanager, source)["fingerprint"]
    if muted is not None:
        _wait_for_inhibition(alertmanager, muted, [source_fingerprint])
        assert _status(alertmanager, muted)["status"]["inhibitedBy"] == [source_fingerprint]
    expected = [source_fingerprint] if inhibited else []
    _wait_for_inhibition(alertmanager, target, expected)
    status = _status(alertmanager, target)["status"]
    assert status["inhibitedBy"] == expected
    assert status["state"] == ("suppressed" if inhibited else "active")
    assert _status(alertmanager, source)["status"]["state"] == "active"
