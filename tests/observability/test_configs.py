"""The files compose mounts, checked by each service's own checker; and each check shown to
fail on a broken copy, so a pass means something.

promtool, amtool and the Blackbox exporter are Debian's (Prometheus 2.42, Alertmanager 0.25,
blackbox_exporter 0.23); compose runs newer images, and the files use nothing newer than these.
"""

import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import REPO
from tests.observability.monitoring import (
    ALERTMANAGER_YML,
    BLACKBOX_YML,
    PROMETHEUS_YML,
    RULES_DIR,
    run_tool,
    write_yaml,
)

PROMETHEUS_TESTS = PROMETHEUS_YML.parent / "tests"
RUNBOOK = REPO / "docs" / "runbook.md"


# ------------------------------------------------------------------ prometheus.yml


def checkable_prometheus_config(tmp_path: Path, *, rules_dir: Path = RULES_DIR) -> Path:
    """A copy promtool can check here: rule files and the Meilisearch key are paths inside the
    container (/etc/prometheus/...); the copy points them at the repository's rules and at a
    key file of its own. Nothing else changes."""
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    config["rule_files"] = [str(rules_dir / "*.yml")]
    key = tmp_path / "meili_metrics_key"
    key.write_text("test-key\n")
    for job in config["scrape_configs"]:
        if "authorization" in job:
            assert job["authorization"]["credentials_file"].startswith("/run/secrets/")
            job["authorization"]["credentials_file"] = str(key)
    return write_yaml(tmp_path / "prometheus.yml", config)


def test_prometheus_config_and_its_rule_files_pass_promtool(tmp_path: Path) -> None:
    result = run_tool("promtool", "check", "config", str(checkable_prometheus_config(tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 2 rule files found" in result.stdout
    assert result.stdout.count(" rules found") == 2, result.stdout  # each file checked


def test_promtool_check_config_fails_on_a_broken_copy(tmp_path: Path) -> None:
    config = yaml.safe_load(checkable_prometheus_config(tmp_path).read_text())
    config["scrape_configs"].append(dict(config["scrape_configs"][0]))  # a duplicate job name
    broken = write_yaml(tmp_path / "broken.yml", config)
    result = run_tool("promtool", "check", "config", str(broken))
    assert result.returncode != 0
    assert 'found multiple scrape configs with job name "api"' in result.stdout + result.stderr


def test_every_compose_service_is_scraped_or_probed() -> None:
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {
        "api", "worker", "caddy", "s3", "meilisearch", "grafana", "loki", "alertmanager",
        "prometheus", "alloy", "blackbox", "probe_http", "probe_http_body", "probe_tcp",
    }  # fmt: skip
    for name, job in jobs.items():
        groups = job.get("static_configs", [])
        assert all(group["labels"]["service"] for group in groups), name
        if name.startswith("probe_"):
            assert all(group["labels"]["probe"] for group in groups), name
            assert job["relabel_configs"][-1]["replacement"] == "blackbox:9115"
    assert jobs["api"]["dns_sd_configs"] == [
        {"names": ["api"], "type": "A", "port": 8000, "refresh_interval": "15s"}
    ]
    assert config["alerting"]["alertmanagers"][0]["path_prefix"] == "/alertmanager"


# ------------------------------------------------------------------ rules


def test_rule_files_pass_promtool() -> None:
    result = run_tool("promtool", "check", "rules", *map(str, sorted(RULES_DIR.glob("*.yml"))))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == 2


@pytest.mark.parametrize("name", ["recording.yml", "alerts.yml"])
def test_promtool_check_rules_fails_on_a_broken_copy(name: str, tmp_path: Path) -> None:
    text = (RULES_DIR / name).read_text()
    broken = tmp_path / name
    # The first expression loses its closing parenthesis.
    broken.write_text(re.sub(r"(expr: [^\n|>]*)\)", r"\1", text, count=1))
    assert broken.read_text() != text
    result = run_tool("promtool", "check", "rules", str(broken))
    assert result.returncode != 0
    assert "parse error" in result.stdout + result.stderr


def test_rule_unit_tests_pass() -> None:
    result = run_tool(
        "promtool", "test", "rules", *map(str, sorted(PROMETHEUS_TESTS.glob("*.yml")))
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == 2


@pytest.mark.parametrize(
    ("name", "old", "new", "reported"),
    [
        # HighErrorRatio's threshold from 5 % to 50 %: the 10 % case no longer fires.
        ("alerts.yml", "job:http_5xx_ratio:rate5m > 0.05", "job:http_5xx_ratio:rate5m > 0.5",
         "alertname: HighErrorRatio"),
        # Request rates doubled.
        ("recording.yml", "(rate(http_requests_total[5m]))\n",
         "(rate(http_requests_total[5m])) * 2\n", 'expr: "route:http_requests:rate5m"'),
    ],
)  # fmt: skip
def test_rule_unit_tests_fail_when_a_rule_changes(
    name: str, old: str, new: str, reported: str, tmp_path: Path
) -> None:
    rules = shutil.copytree(RULES_DIR, tmp_path / "rules")
    tests = shutil.copytree(PROMETHEUS_TESTS, tmp_path / "tests")
    text = (rules / name).read_text()
    assert old in text
    (rules / name).write_text(text.replace(old, new, 1))
    result = run_tool("promtool", "test", "rules", *map(str, sorted(tests.glob("*.yml"))))
    assert result.returncode != 0
    assert reported in result.stdout + result.stderr


def _alerting_rules() -> list[dict[str, Any]]:
    rules = yaml.safe_load((RULES_DIR / "alerts.yml").read_text())
    return [rule for group in rules["groups"] for rule in group["rules"]]


def test_every_alert_has_severity_annotations_and_a_runbook_section() -> None:
    headings = set(re.findall(r"^## (\w+)$", RUNBOOK.read_text(), re.M))
    for rule in _alerting_rules():
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}, name
        assert rule["annotations"]["runbook_url"] == (
            f"https://github.com/example/contact-stack/blob/main/docs/runbook.md#{name.lower()}"
        )
        assert name in headings, f"docs/runbook.md has no section '## {name}'"
    assert headings == {rule["alert"] for rule in _alerting_rules()}


def test_every_alerting_rule_has_a_firing_and_a_silent_unit_test() -> None:
    cases = yaml.safe_load((PROMETHEUS_TESTS / "alerts_test.yml").read_text())["tests"]
    checks = [check for case in cases for check in case.get("alert_rule_test", [])]
    silent = {check["alertname"] for check in checks if not check["exp_alerts"]}
    fired = [
        {"alertname": check["alertname"], **alert["exp_labels"]}
        for check in checks
        for alert in check["exp_alerts"]
    ]
    for rule in _alerting_rules():
        static = {"alertname": rule["alert"], **rule["labels"]}
        assert any(static.items() <= labels.items() for labels in fired), (
            f"no test where {static} fires"
        )
        assert rule["alert"] in silent, f"no test where {rule['alert']} stays silent"


# ------------------------------------------------------------------ Alertmanager


def test_alertmanager_config_passes_amtool() -> None:
    result = run_tool("amtool", "check-config", str(ALERTMANAGER_YML))
    assert result.returncode == 0, result.stdout + result.stderr
    assert " - 1 templates" in result.stdout


def test_amtool_check_config_fails_on_a_broken_copy(tmp_path: Path) -> None:
    config = yaml.safe_load(ALERTMANAGER_YML.read_text())
    config["route"]["routes"][0]["receiver"] = "pager"  # no such receiver
    result = run_tool("amtool", "check-config", str(write_yaml(tmp_path / "am.yml", config)))
    assert result.returncode != 0
    assert 'undefined receiver "pager"' in result.stdout + result.stderr


# ------------------------------------------------------------------ Blackbox exporter


def test_blackbox_config_passes_its_own_check() -> None:
    result = run_tool(
        "prometheus-blackbox-exporter", "--config.check", f"--config.file={BLACKBOX_YML}"
    )
    assert result.returncode == 0, result.stderr
    assert "Config file is ok" in result.stderr
    assert "deprecated" not in result.stderr


def test_blackbox_config_check_fails_on_a_broken_copy(tmp_path: Path) -> None:
    config = yaml.safe_load(BLACKBOX_YML.read_text())
    config["modules"]["http_body"]["http"]["fail_if_body_not_matches_regexp"] = ["(ready"]
    broken = write_yaml(tmp_path / "blackbox.yml", config)
    result = run_tool("prometheus-blackbox-exporter", "--config.check", f"--config.file={broken}")
    assert result.returncode != 0
    assert "Could not compile regular expression" in result.stderr


# ------------------------------------------------------------------ the app's /metrics


@pytest.mark.anyio
async def test_app_metrics_pass_promtool_lint(
    client: httpx.AsyncClient, contact_json: dict[str, Any]
) -> None:
    assert (await client.post("/api/contact", json=contact_json)).status_code == 201
    assert (await client.get("/health/ready")).status_code == 200
    assert (await client.get("/api/contacts/not-a-uuid")).status_code == 422
    exposition = (await client.get("/metrics")).text
    assert 'http_requests_total{method="POST",route="/api/contact",status="201"}' in exposition
    result = run_tool("promtool", "check", "metrics", stdin=exposition)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_promtool_check_metrics_reports_a_badly_named_metric() -> None:
    exposition = "# HELP uploads Uploads.\n# TYPE uploads counter\nuploads 3\n"
    result = run_tool("promtool", "check", "metrics", stdin=exposition)
    assert result.returncode != 0
    assert 'counter metrics should have "_total" suffix' in result.stdout + result.stderr
