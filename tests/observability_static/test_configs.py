"""Grafana provisioning, Loki and Promtail YAML: parsed and checked offline (no server runs)."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.observability_static import alloy, logql
from tests.observability_static.config_files import (
    ALLOY,
    DASHBOARD_PROVIDERS,
    DATASOURCES,
    LOKI,
    PROMTAIL,
    YAML_FILES,
    check_dashboard_providers,
    check_datasources,
    check_derived_fields,
    check_loki,
    check_promtail,
    check_yaml,
    load_yaml,
)


def write_yaml(path: Path, document: Any) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.name)
def test_yaml_file_parses(path: Path) -> None:
    assert check_yaml(path.read_text(encoding="utf-8")) == []


def test_broken_yaml_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "datasources.yml"
    broken.write_text(DATASOURCES.read_text(encoding="utf-8") + "  - name: [unclosed\n")
    assert any("invalid YAML" in p for p in check_yaml(broken.read_text()))


def test_datasources() -> None:
    assert check_datasources(load_yaml(DATASOURCES)) == []


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("uid", "prometheus", "duplicate data source uids"),
        ("isDefault", True, "exactly one default"),
        ("type", "prometheus", "'loki' of type 'loki' is missing"),
    ],
)
def test_broken_datasources_are_reported(
    tmp_path: Path, field: str, value: object, expected: str
) -> None:
    document = load_yaml(DATASOURCES)
    loki = next(ds for ds in document["datasources"] if ds["uid"] == "loki")
    loki[field] = value
    broken = load_yaml(write_yaml(tmp_path / "datasources.yml", document))
    assert any(expected in p for p in check_datasources(broken))


def test_alertmanager_datasource_needs_its_implementation(tmp_path: Path) -> None:
    document = load_yaml(DATASOURCES)
    for ds in document["datasources"]:
        ds.pop("jsonData", None)
    broken = load_yaml(write_yaml(tmp_path / "datasources.yml", document))
    assert any("implementation" in p for p in check_datasources(broken))


def test_derived_field_reads_structured_metadata_of_both_shippers() -> None:
    document = load_yaml(DATASOURCES)
    assert check_derived_fields(document, alloy.structured_metadata(ALLOY.read_text())) == []
    promtail = logql.promtail_structured_metadata(load_yaml(PROMTAIL))
    assert check_derived_fields(document, promtail) == []


def test_derived_field_without_metadata_is_reported(tmp_path: Path) -> None:
    text = ALLOY.read_text().replace('request_id = "",\n', "")
    broken = tmp_path / "config.alloy"
    broken.write_text(text)
    problems = check_derived_fields(
        load_yaml(DATASOURCES), alloy.structured_metadata(broken.read_text())
    )
    assert problems == ["derived field reads 'request_id', which the log shipper does not set"]


def test_dashboard_provider() -> None:
    assert check_dashboard_providers(load_yaml(DASHBOARD_PROVIDERS)) == []


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("allowUiUpdates", True, "lets the UI save"),
        (
            "options",
            {"path": "/etc/grafana/dashboards"},
            "does not read /var/lib/grafana/dashboards",
        ),
        ("folder", "", "names no folder"),
    ],
)
def test_broken_dashboard_provider_is_reported(
    tmp_path: Path, field: str, value: object, expected: str
) -> None:
    document = load_yaml(DASHBOARD_PROVIDERS)
    document["providers"][0][field] = value
    broken = load_yaml(write_yaml(tmp_path / "dashboards.yml", document))
    assert any(expected in p for p in check_dashboard_providers(broken))


def test_loki_config() -> None:
    assert check_loki(load_yaml(LOKI)) == []


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("compactor", "retention_enabled", False, "retention_enabled"),
        ("compactor", "delete_request_store", None, "delete_request_store"),
        ("limits_config", "allow_structured_metadata", False, "allow_structured_metadata"),
        ("limits_config", "retention_period", None, "retention_period"),
        ("common", "path_prefix", "/var/loki", "path_prefix"),
    ],
)
def test_broken_loki_config_is_reported(
    tmp_path: Path, section: str, key: str, value: object, expected: str
) -> None:
    document = load_yaml(LOKI)
    document[section][key] = value
    broken = load_yaml(write_yaml(tmp_path / "loki.yaml", document))
    assert any(expected in p for p in check_loki(broken))


def test_loki_schema_must_be_tsdb_v13(tmp_path: Path) -> None:
    document = load_yaml(LOKI)
    document["schema_config"]["configs"][-1]["schema"] = "v12"
    broken = load_yaml(write_yaml(tmp_path / "loki.yaml", document))
    assert check_loki(broken) == ["the current schema needs schema: v13"]


def test_promtail_config() -> None:
    assert check_promtail(load_yaml(PROMTAIL)) == []


def test_broken_promtail_config_is_reported(tmp_path: Path) -> None:
    document = load_yaml(PROMTAIL)
    document["clients"][0]["url"] = "http://loki:3100/api/prom/push"
    document["scrape_configs"][0]["pipeline_stages"].append({"jsonn": {"expressions": {}}})
    problems = check_promtail(load_yaml(write_yaml(tmp_path / "promtail.yaml", document)))
    assert any("clients must push" in p for p in problems)
    assert any("unknown pipeline stage ['jsonn']" in p for p in problems)
