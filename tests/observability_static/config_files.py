"""The configuration files compose mounts, and the checks of the YAML ones."""

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config"
DATASOURCES = CONFIG / "grafana/provisioning/datasources/datasources.yml"
DASHBOARD_PROVIDERS = CONFIG / "grafana/provisioning/dashboards/dashboards.yml"
DASHBOARDS = CONFIG / "grafana/dashboards"
LOKI = CONFIG / "loki/loki.yaml"
ALLOY = CONFIG / "alloy/config.alloy"
PROMTAIL = CONFIG / "promtail/promtail.yaml"
YAML_FILES = (DATASOURCES, DASHBOARD_PROVIDERS, LOKI, PROMTAIL)

# Where the grafana service mounts the dashboard JSON files (read-only).
DASHBOARDS_MOUNT = "/var/lib/grafana/dashboards"
# The data sources every dashboard may refer to, by uid, with their plugin type.
REQUIRED_DATASOURCES = {"prometheus": "prometheus", "loki": "loki", "alertmanager": "alertmanager"}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def check_yaml(text: str) -> list[str]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        return [f"invalid YAML: {error}"]
    if not isinstance(document, dict):
        return ["the document is not a mapping"]
    return []


def datasource_types(document: dict[str, Any]) -> dict[str, str]:
    """uid -> plugin type of each provisioned data source."""
    return {str(ds.get("uid")): str(ds.get("type")) for ds in document.get("datasources") or []}


def check_datasources(document: dict[str, Any]) -> list[str]:
    problems = []
    sources = document.get("datasources") or []
    for key in ("uid", "name"):
        values = [ds.get(key) for ds in sources]
        if None in values:
            problems.append(f"a data source has no {key}")
        duplicates = sorted({v for v in values if v is not None and values.count(v) > 1})
        if duplicates:
            problems.append(f"duplicate data source {key}s: {duplicates}")
    defaults = [ds.get("name") for ds in sources if ds.get("isDefault")]
    if len(defaults) != 1:
        problems.append(f"exactly one default data source expected, found {defaults}")
    types = datasource_types(document)
    for uid, kind in REQUIRED_DATASOURCES.items():
        if types.get(uid) != kind:
            problems.append(f"data source uid {uid!r} of type {kind!r} is missing")
    for ds in sources:
        if not str(ds.get("url", "")).startswith("http://"):
            problems.append(f"data source {ds.get('name')!r} has no http:// url")
        implementation = (ds.get("jsonData") or {}).get("implementation")
        if ds.get("type") == "alertmanager" and implementation != "prometheus":
            problems.append(
                "the Alertmanager data source needs jsonData.implementation: prometheus"
            )
    return problems


def derived_field_labels(document: dict[str, Any]) -> set[str]:
    """Names that Loki derived fields of type "label" read (labels or structured metadata)."""
    names = set()
    for ds in document.get("datasources") or []:
        for derived in (ds.get("jsonData") or {}).get("derivedFields") or []:
            if derived.get("matcherType") == "label":
                names.add(str(derived.get("matcherRegex")))
    return names


def check_dashboard_providers(document: dict[str, Any]) -> list[str]:
    providers = document.get("providers") or []
    if not providers:
        return ["no dashboard provider"]
    problems = []
    for provider in providers:
        name = provider.get("name")
        if provider.get("type", "file") != "file":
            problems.append(f"provider {name!r} is not a file provider")
        if (provider.get("options") or {}).get("path") != DASHBOARDS_MOUNT:
            problems.append(f"provider {name!r} does not read {DASHBOARDS_MOUNT}")
        if provider.get("allowUiUpdates") is not False:
            problems.append(f"provider {name!r} lets the UI save over provisioned dashboards")
        if not provider.get("folder"):
            problems.append(f"provider {name!r} names no folder")
    return problems


def check_loki(document: dict[str, Any]) -> list[str]:
    """The single-binary, filesystem, retention and structured-metadata settings."""
    problems = []
    if document.get("auth_enabled") is not False:
        problems.append("auth_enabled must be false (one tenant)")
    common = document.get("common") or {}
    if common.get("path_prefix") != "/loki":
        problems.append("common.path_prefix must be /loki (the volume)")
    filesystem = (common.get("storage") or {}).get("filesystem") or {}
    for key in ("chunks_directory", "rules_directory"):
        if not str(filesystem.get(key, "")).startswith("/loki/"):
            problems.append(f"common.storage.filesystem.{key} must be under /loki/")
    schemas = (document.get("schema_config") or {}).get("configs") or []
    if not schemas:
        problems.append("no schema_config")
    latest = schemas[-1] if schemas else {}
    expected = {"store": "tsdb", "object_store": "filesystem", "schema": "v13"}
    for key, value in expected.items():
        if latest.get(key) != value:
            problems.append(f"the current schema needs {key}: {value}")
    if (latest.get("index") or {}).get("period") != "24h":
        problems.append("retention needs a 24h index period")
    compactor = document.get("compactor") or {}
    if compactor.get("retention_enabled") is not True:
        problems.append("compactor.retention_enabled must be true")
    if compactor.get("delete_request_store") != "filesystem":
        problems.append("compactor.delete_request_store must be filesystem")
    if not str(compactor.get("working_directory", "")).startswith("/loki/"):
        problems.append("compactor.working_directory must be under /loki/")
    limits = document.get("limits_config") or {}
    if not limits.get("retention_period"):
        problems.append("limits_config.retention_period is not set")
    if limits.get("allow_structured_metadata") is not True:
        problems.append("limits_config.allow_structured_metadata must be true (request_id)")
    return problems


def check_derived_fields(document: dict[str, Any], structured_metadata: set[str]) -> list[str]:
    """Derived fields of type "label" must name a key the log shipper sets."""
    return [
        f"derived field reads {name!r}, which the log shipper does not set"
        for name in sorted(derived_field_labels(document) - structured_metadata)
    ]


PROMTAIL_STAGES = frozenset(
    {
        "cri",
        "decolorize",
        "docker",
        "drop",
        "eventlogmessage",
        "geoip",
        "json",
        "labelallow",
        "labeldrop",
        "labels",
        "limit",
        "logfmt",
        "luhn",
        "match",
        "metrics",
        "multiline",
        "output",
        "pack",
        "regex",
        "replace",
        "sampling",
        "static_labels",
        "structured_metadata",
        "template",
        "tenant",
        "timestamp",
    }
)


def check_promtail(document: dict[str, Any]) -> list[str]:
    """Push URL, positions file, Docker discovery and pipeline stage names."""
    problems = []
    urls = [client.get("url") for client in document.get("clients") or []]
    if urls != ["http://loki:3100/loki/api/v1/push"]:
        problems.append(f"clients must push to http://loki:3100/loki/api/v1/push, found {urls}")
    positions = str((document.get("positions") or {}).get("filename", ""))
    # On the promtail_data volume compose mounts, so positions survive a re-created container.
    if not positions.startswith("/var/lib/promtail/"):
        problems.append(f"positions file {positions!r} is not on the /var/lib/promtail volume")
    scrapes = document.get("scrape_configs") or []
    if not scrapes:
        problems.append("no scrape_configs")
    for scrape in scrapes:
        name = scrape.get("job_name")
        hosts = [sd.get("host") for sd in scrape.get("docker_sd_configs") or []]
        if hosts != ["unix:///var/run/docker.sock"]:
            problems.append(f"job {name!r} does not discover containers on the Docker socket")
        for stage in scrape.get("pipeline_stages") or []:
            unknown = set(stage) - PROMTAIL_STAGES
            if len(stage) != 1 or unknown:
                problems.append(f"job {name!r}: unknown pipeline stage {sorted(stage)}")
    return problems
