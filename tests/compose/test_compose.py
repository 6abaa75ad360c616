"""The compose files, checked without an engine: schema, the stack's rules, the Dockerfile.

Each rule also gets a broken sample, to show it can fail.
"""

import copy
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.config import Settings
from tests.compose import rules
from tests.compose.rules import COMBINATIONS, REPO, load, merge

Rule = Callable[[Mapping[str, Any]], list[str]]
BIN = Path(sys.executable).parent


def check_schema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("combination", COMBINATIONS.values(), ids=COMBINATIONS.keys())
def test_files_and_combinations_match_the_compose_spec(
    combination: list[str], tmp_path: Path
) -> None:
    for name in combination:
        result = check_schema(REPO / name)
        assert result.returncode == 0, result.stdout + result.stderr
    merged = tmp_path / "merged.yaml"
    merged.write_text(yaml.safe_dump(merge(combination)))
    result = check_schema(merged)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_can_fail(tmp_path: Path) -> None:
    broken = load("compose.yaml")
    broken["services"]["api"]["restart"] = ["always"]
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken))
    assert check_schema(path).returncode != 0


def _break_image(config: dict[str, Any]) -> None:
    config["services"]["postgres"]["image"] = "postgres:latest"


def _break_healthcheck(config: dict[str, Any]) -> None:
    del config["services"]["s3"]["healthcheck"]


def _break_depends_on(config: dict[str, Any]) -> None:
    config["services"]["api"]["depends_on"]["migrate"] = {"condition": "service_started"}


def _break_one_shot(config: dict[str, Any]) -> None:
    config["services"]["migrate"]["restart"] = "always"


def _break_host_path(config: dict[str, Any]) -> None:
    config["services"]["caddy"]["volumes"].append("./no-such-folder:/x:ro")


RULES: dict[str, tuple[list[str], Rule, Callable[[dict[str, Any]], None]]] = {
    "pinned images": (COMBINATIONS["prod+minio"], rules.pinned_images, _break_image),
    "healthchecks": (COMBINATIONS["base"], rules.healthchecks, _break_healthcheck),
    "depends_on conditions": (COMBINATIONS["base"], rules.depends_on_conditions, _break_depends_on),
    "one-shot jobs": (COMBINATIONS["base"], rules.one_shots, _break_one_shot),
    "host paths exist": (COMBINATIONS["dev"], rules.host_paths_exist, _break_host_path),
}


@pytest.mark.parametrize(("combination", "rule", "breaker"), RULES.values(), ids=RULES.keys())
def test_rule_holds_and_can_fail(
    combination: list[str], rule: Rule, breaker: Callable[[dict[str, Any]], None]
) -> None:
    config = merge(combination)
    assert rule(config) == []
    broken = copy.deepcopy(config)
    breaker(broken)
    assert rule(broken) != []


def test_every_service_has_a_healthcheck_in_every_combination() -> None:
    for combination in COMBINATIONS.values():
        assert rules.healthchecks(merge(combination)) == [], combination


def test_every_variable_is_in_env_example() -> None:
    texts = [(REPO / name).read_text() for name in {n for c in COMBINATIONS.values() for n in c}]
    example = (REPO / ".env.example").read_text()
    assert rules.variables_documented(texts, example) == []
    assert rules.variables_documented(["${NOT_DOCUMENTED_ANYWHERE:-x}"], example) != []


def test_dev_publishes_on_localhost_only() -> None:
    config = merge(COMBINATIONS["dev"])
    assert rules.dev_ports_local(config) == []
    published = {name for name, svc in config["services"].items() if svc.get("ports")}
    assert published == {"caddy", "postgres", "s3", "meilisearch"}
    broken = copy.deepcopy(config)
    broken["services"]["postgres"]["ports"] = ["5432:5432"]
    assert rules.dev_ports_local(broken) == ["postgres: publishes 5432:5432 beyond 127.0.0.1"]


def test_dev_reloads_bind_mounted_code() -> None:
    api = merge(COMBINATIONS["dev"])["services"]["api"]
    assert "./app:/app/app:ro" in api["volumes"]
    assert "--reload" in api["command"]
    assert api["build"]["args"]["TARGET"] == "dev"


@pytest.mark.parametrize("combination", ["prod", "prod+minio"])
def test_prod_is_hardened(combination: str) -> None:
    assert rules.prod_hardening(merge(COMBINATIONS[combination])) == []


BREAK_PROD: dict[str, Callable[[dict[str, Any]], None]] = {
    "published port": lambda c: c["services"]["grafana"].update(ports=["3000:3000"]),
    "code mount": lambda c: c["services"]["worker"].update(volumes=["./app:/app/app"]),
    "no limits": lambda c: c["services"]["loki"].pop("deploy"),
    "writable root": lambda c: c["services"]["api"].update(read_only=False),
    "privileges": lambda c: c["services"]["blackbox"].update(security_opt=[]),
    "capabilities": lambda c: c["services"]["alloy"].update(cap_drop=[]),
    "plain secret": lambda c: c["services"]["api"]["environment"].update(DB_PASSWORD="hunter2"),
}


@pytest.mark.parametrize("breaker", BREAK_PROD.values(), ids=BREAK_PROD.keys())
def test_prod_rules_can_fail(breaker: Callable[[dict[str, Any]], None]) -> None:
    config = copy.deepcopy(merge(COMBINATIONS["prod"]))
    breaker(config)
    assert rules.prod_hardening(config) != []


def test_prod_secrets_reach_services_as_files() -> None:
    config = merge(COMBINATIONS["prod"])
    api_env = config["services"]["api"]["environment"]
    assert api_env["DB_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert api_env["DB_PASSWORD"] == ""
    assert set(config["services"]["api"]["secrets"]) >= {"postgres_password", "s3_secret_key"}
    postgres_env = config["services"]["postgres"]["environment"]
    assert postgres_env["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    for name, secret in config["secrets"].items():
        assert set(secret) == {"environment"}, name


def test_app_expectations_agree_with_the_services() -> None:
    """What the app is told (hosts, ports, variable names) matches what compose runs."""
    config = merge(COMBINATIONS["base"])
    names = set(config["services"])
    env = config["services"]["api"]["environment"]
    assert env["DB_HOST"] in names
    assert env["DB_PORT"] == "5432"
    s3_host, s3_port = env["S3_ENDPOINT"].split(":")
    assert s3_host in names
    assert f"-s3.port={s3_port}" in config["services"][s3_host]["command"]
    assert env["MEILI_URL"] == "http://meilisearch:7700"
    assert "meilisearch" in names
    assert "127.0.0.1:7700/health" in " ".join(
        config["services"]["meilisearch"]["healthcheck"]["test"]
    )
    known = {field.upper() for field in Settings.model_fields} | {"PROMETHEUS_MULTIPROC_DIR"}
    for service in ("api", "worker", "migrate", "s3-init"):
        for label, combination in COMBINATIONS.items():
            if service == "s3-init" and "minio" in label:
                continue  # MinIO's own `mc` image does the job there
            svc = merge(combination)["services"][service]
            unknown = {k.removesuffix("_FILE") for k in svc["environment"]} - known
            assert unknown == set(), (service, combination, unknown)
    caddy_env = config["services"]["caddy"]["environment"]
    assert caddy_env["API_UPSTREAMS"] == "api:8000"
    for key in ("GRAFANA_UPSTREAM", "PROMETHEUS_UPSTREAM", "ALERTMANAGER_UPSTREAM"):
        assert caddy_env[key].split(":")[0] in names


def compose_default(value: str) -> str:
    """The value a `${NAME:-default}` entry takes when .env does not set NAME."""
    match = re.fullmatch(r"\$\{[A-Z0-9_]+:-([^}]*)\}", value)
    return match.group(1) if match else value


def test_edge_body_cap_leaves_room_for_the_apis_own_limits() -> None:
    """With the defaults, the API's 413 (which names the limit crossed) comes before Caddy's."""
    config = merge(COMBINATIONS["base"])
    api = config["services"]["api"]["environment"]
    caddy_cap = int(compose_default(config["services"]["caddy"]["environment"]["MAX_BODY_SIZE"]))
    attachments = int(compose_default(api["MAX_ATTACHMENTS"]))
    per_file = int(compose_default(api["MAX_UPLOAD_BYTES"]))
    fields = int(
        compose_default(api.get("MAX_REQUEST_BYTES", ""))
        or Settings.model_fields["max_request_bytes"].default
    )
    assert caddy_cap >= attachments * per_file + fields


def test_config_files_are_mounted_where_each_image_reads_them() -> None:
    config = merge(COMBINATIONS["base"])
    mounts = {
        name: {str(v).split(":")[1] for v in svc.get("volumes", []) if str(v).startswith("./")}
        for name, svc in config["services"].items()
    }
    assert "/etc/caddy" in mounts["caddy"]
    assert "/etc/prometheus" in mounts["prometheus"]
    assert "/etc/alertmanager" in mounts["alertmanager"]
    assert "/etc/blackbox" in mounts["blackbox"]
    assert {"/etc/grafana/provisioning", "/var/lib/grafana/dashboards"} <= mounts["grafana"]
    assert "/etc/loki" in mounts["loki"]
    assert "/etc/alloy" in mounts["alloy"]
    assert "/docker-entrypoint-initdb.d" in mounts["postgres"]


def test_hadolint_finds_nothing(tmp_path: Path) -> None:
    hadolint = BIN / "hadolint"
    result = subprocess.run(
        [str(hadolint), str(REPO / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "Dockerfile"
    broken.write_text("FROM python\nRUN cd /tmp && pip install requests\n")
    assert (
        subprocess.run([str(hadolint), str(broken)], capture_output=True, check=False).returncode
        != 0
    )


CHECKOV = REPO / ".venv-tools" / "checkov" / "bin" / "checkov"


def run_checkov(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed: make tools")
    return subprocess.run(
        [
            str(CHECKOV), "-f", str(dockerfile), "--framework", "dockerfile",
            "--quiet", "--compact", "--skip-download", "--output", "cli",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )  # fmt: skip


def test_checkov_dockerfile_checks_pass(tmp_path: Path) -> None:
    result = run_checkov(REPO / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "Dockerfile"
    broken.write_text("FROM python:latest\nRUN pip install requests\n")
    assert run_checkov(broken).returncode != 0
