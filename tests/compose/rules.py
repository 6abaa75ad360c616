"""The compose files' rules, as functions over their YAML: each returns the violations it finds.

No Docker engine (nor the compose plugin) runs here, so combinations are merged by `merge()`,
which follows the compose specification's merge rules for everything these files use.
"""

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
BASE = "compose.yaml"
COMBINATIONS = {
    "base": [BASE],
    "dev": [BASE, "compose.dev.yaml"],
    "prod": [BASE, "compose.prod.yaml"],
    "prod+minio": [BASE, "compose.prod.yaml", "compose.minio.yaml"],
}
ONE_SHOT = frozenset({"migrate", "s3-init"})
VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|_KEY$|^MEILI_MASTER_KEY$|MEILI_API_KEY)")
# Values that carry no secret even though their names suggest one.
NOT_SECRETS = frozenset({"S3_ACCESS_KEY", "ADMIN_PASSWORD_HASH", "AWS_ACCESS_KEY_ID"})


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / name).read_text())
    return data


def _merge_value(key: str, base: Any, override: Any) -> Any:
    if key in {"command", "entrypoint", "healthcheck", "image", "build", "user"}:
        return override  # replaced whole
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged = dict(base)
        for k, v in override.items():
            merged[k] = _merge_value(k, merged[k], v) if k in merged else v
        return merged
    if isinstance(base, list) and isinstance(override, list):
        if key == "environment":
            return override
        # ports, volumes, secrets, cap_add, ...: a union, keeping order
        return base + [item for item in override if item not in base]
    return override


def merge(names: Iterable[str]) -> dict[str, Any]:
    """`docker compose -f a -f b config` without the engine (the parts these files use)."""
    merged: dict[str, Any] = {}
    for name in names:
        merged = _merge_value("", merged, load(name))
    return merged


def services(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(config.get("services", {}))


def long_running(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in services(config).items() if name not in ONE_SHOT}


def _environment(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _host_ports(service: Mapping[str, Any]) -> list[str]:
    return [str(port) for port in service.get("ports", [])]


def pinned_images(config: Mapping[str, Any]) -> list[str]:
    problems = []
    for name, svc in services(config).items():
        image = str(svc.get("image", ""))
        if not image:
            problems.append(f"{name}: no image")
            continue
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        if "${" in image:
            continue  # the app's own image, built from this repository
        if not tag or tag == "latest" or ("@" in image and not tag):
            problems.append(f"{name}: image {image} is not pinned to a version")
    return problems


def healthchecks(config: Mapping[str, Any]) -> list[str]:
    problems = []
    for name, svc in long_running(config).items():
        check = svc.get("healthcheck")
        if not check or check.get("disable"):
            problems.append(f"{name}: long-running service without a healthcheck")
            continue
        test = check.get("test", [])
        if not test or test[0] not in {"CMD", "CMD-SHELL"}:
            problems.append(f"{name}: healthcheck test must be CMD or CMD-SHELL")
    return problems


def depends_on_conditions(config: Mapping[str, Any]) -> list[str]:
    problems = []
    names = services(config)
    for name, svc in names.items():
        depends = svc.get("depends_on", {})
        if isinstance(depends, list):
            problems.append(f"{name}: depends_on without conditions")
            continue
        for dependency, rule in depends.items():
            condition = (rule or {}).get("condition")
            if dependency not in names:
                problems.append(f"{name}: depends on unknown service {dependency}")
            elif dependency in ONE_SHOT and condition != "service_completed_successfully":
                problems.append(f"{name}: must wait for one-shot {dependency} to complete")
            elif dependency not in ONE_SHOT and condition != "service_healthy":
                problems.append(f"{name}: must wait for {dependency} to be healthy")
    return problems


def one_shots(config: Mapping[str, Any]) -> list[str]:
    problems = []
    all_services = services(config)
    for name in ONE_SHOT:
        svc = all_services.get(name)
        if svc is None:
            problems.append(f"{name}: missing")
            continue
        if str(svc.get("restart", "no")) not in {"no", "on-failure"}:
            problems.append(f"{name}: a one-shot must not restart forever")
        waiting = [
            other
            for other, other_svc in all_services.items()
            if (other_svc.get("depends_on") or {}).get(name, {}).get("condition")
            == "service_completed_successfully"
        ]
        if not waiting:
            problems.append(f"{name}: nothing waits for it to complete")
    return problems


def host_paths_exist(config: Mapping[str, Any]) -> list[str]:
    problems = []
    for name, svc in services(config).items():
        for volume in svc.get("volumes", []):
            source = str(volume).split(":", 1)[0] if isinstance(volume, str) else volume["source"]
            if source.startswith(("./", "../")) and not (REPO / source).exists():
                problems.append(f"{name}: mounts {source}, which is not in the repository")
    for name, secret in config.get("secrets", {}).items():
        if "file" in secret and not str(secret["file"]).startswith("./secrets/"):
            problems.append(f"secret {name}: file outside ./secrets/")
    return problems


def variables_documented(texts: Iterable[str], env_example: str) -> list[str]:
    documented = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in env_example.splitlines()
        if "=" in line
    }
    used = {match for text in texts for match in VARIABLE.findall(text)}
    return [f"${{{name}}} is not in .env.example" for name in sorted(used - documented)]


def dev_ports_local(config: Mapping[str, Any]) -> list[str]:
    return [
        f"{name}: publishes {port} beyond 127.0.0.1"
        for name, svc in services(config).items()
        for port in _host_ports(svc)
        if not port.startswith("127.0.0.1:")
    ]


def prod_hardening(config: Mapping[str, Any]) -> list[str]:
    problems = []
    for name, svc in services(config).items():
        if name != "caddy" and svc.get("ports"):
            problems.append(f"{name}: publishes ports; only caddy may")
        for volume in svc.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("./app") or source in {".", "./"}:
                problems.append(f"{name}: bind-mounts code ({source})")
        limits = (svc.get("deploy") or {}).get("resources", {}).get("limits", {})
        for limit in ("cpus", "memory", "pids"):
            if limit not in limits:
                problems.append(f"{name}: no {limit} limit")
        if svc.get("read_only") is not True:
            problems.append(f"{name}: root filesystem not read-only")
        if "no-new-privileges:true" not in svc.get("security_opt", []):
            problems.append(f"{name}: no-new-privileges not set")
        if svc.get("cap_drop") != ["ALL"]:
            problems.append(f"{name}: capabilities not all dropped")
        if str(svc.get("restart", "")) not in {"unless-stopped", "always"} and name not in ONE_SHOT:
            problems.append(f"{name}: no restart policy")
        for key, value in _environment(svc).items():
            secret = SECRET_NAME.search(key) and key not in NOT_SECRETS
            if secret and value and not key.endswith("_FILE"):
                problems.append(f"{name}: secret {key} in plain environment")
    caddy_ports = _host_ports(services(config).get("caddy", {}))
    for needed in ("80:80", "443:443"):
        if needed not in caddy_ports:
            problems.append(f"caddy: does not publish {needed}")
    return problems
