"""Prometheus, Alertmanager and the Blackbox exporter as real processes on loopback ports, run
from this repository's config files, and a webhook receiver that records what Alertmanager sends.

The configs compose mounts name services on the stack's network (`api:8000`, `caddy:8081`,
...). `prometheus_config` and `alertmanager_config` derive runnable copies: the same jobs,
relabelings, rules, routes and inhibitions, with only addresses and timings changed.
"""

import json
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import yaml

from tests.conftest import REPO, serving

CONFIG = REPO / "config"
PROMETHEUS_YML = CONFIG / "prometheus" / "prometheus.yml"
RULES_DIR = CONFIG / "prometheus" / "rules"
ALERTMANAGER_YML = CONFIG / "alertmanager" / "alertmanager.yml"
TEMPLATES = CONFIG / "alertmanager" / "templates"
BLACKBOX_YML = CONFIG / "blackbox" / "blackbox.yml"

# Alerts wait this long instead of their `for:` (1m and more) in the live copies of the rules,
# so a stopped API is reported within seconds; long enough that nothing fires from the first
# evaluations (before every target has been scraped once) or from a few scrapes that miss the
# 1 s timeout while the machine is busy.
LIVE_FOR = "10s"


def loopback_client(timeout: float = 10) -> httpx.Client:
    # Never through an http_proxy from the environment: every server here is on 127.0.0.1.
    return httpx.Client(timeout=timeout, trust_env=False)


def run_tool(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """A checker (promtool, amtool, ...) to completion, its output as text."""
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)


def _ok(url: str) -> bool:
    try:
        with loopback_client(2) as client:
            return client.get(url).status_code == 200
    except httpx.HTTPError:
        return False


class Server:
    """A binary started with flags; `stop` ends it (SIGTERM, then SIGKILL)."""

    def __init__(self, name: str, argv: list[str], *, ready_url: str, log_file: Path) -> None:
        self.name = name
        self.argv = argv
        self.ready_url = ready_url
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> None:
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while not _ok(self.ready_url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} not ready:\n{self.log_file.read_text()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def prometheus_server(config: Path, workdir: Path, port: int) -> Server:
    """As compose runs it: under /prometheus, with a size limit for the TSDB."""
    url = f"http://127.0.0.1:{port}/prometheus"
    argv = [
        "prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'prometheus-data'}",
        "--storage.tsdb.retention.size=1GB",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.external-url={url}/",
        "--web.route-prefix=/prometheus",
        "--web.enable-lifecycle",
    ]
    return Server(
        "prometheus", argv, ready_url=f"{url}/-/ready", log_file=workdir / "prometheus.log"
    )


def alertmanager_server(config: Path, workdir: Path, port: int) -> Server:
    """As compose runs it: under /alertmanager; one instance, so clustering is off."""
    url = f"http://127.0.0.1:{port}/alertmanager"
    argv = [
        "prometheus-alertmanager",
        f"--config.file={config}",
        f"--storage.path={workdir / 'alertmanager-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.external-url={url}/",
        "--web.route-prefix=/alertmanager",
        "--cluster.listen-address=",
    ]
    return Server(
        "alertmanager", argv, ready_url=f"{url}/-/ready", log_file=workdir / "alertmanager.log"
    )


def blackbox_server(workdir: Path, port: int) -> Server:
    argv = [
        "prometheus-blackbox-exporter",
        f"--config.file={BLACKBOX_YML}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    return Server(
        "blackbox",
        argv,
        ready_url=f"http://127.0.0.1:{port}/-/healthy",
        log_file=workdir / "blackbox.log",
    )


@contextmanager
def all_running(*servers: Server) -> Iterator[None]:
    started: list[Server] = []
    try:
        for server in servers:
            server.start()
            started.append(server)
        yield
    finally:
        for server in reversed(started):
            server.stop()


# ------------------------------------------------------------------ Prometheus config


def _map_address(value: str, addresses: Mapping[str, str]) -> str:
    """`host:port` or a URL on the compose network -> the same on loopback (KeyError if unknown)."""
    if "://" not in value:
        return addresses[value]
    parts = urlsplit(value)
    return urlunsplit(parts._replace(netloc=addresses[parts.netloc]))


def _host(value: str) -> str:
    netloc = urlsplit(value).netloc if "://" in value else value
    return netloc.rsplit(":", 1)[0]


def prometheus_config(
    real: dict[str, Any],
    *,
    addresses: Mapping[str, str],
    not_running: set[str],
    rule_files: list[str],
) -> dict[str, Any]:
    """The real config with loopback addresses, 1 s intervals and the given rule files.

    Jobs and probe targets of services in `not_running` are dropped. Any other address missing
    from `addresses` raises KeyError, so a target added to the real config cannot be skipped
    here unnoticed.
    """
    config: dict[str, Any] = json.loads(json.dumps(real))  # a deep copy
    config["global"] |= {"scrape_interval": "1s", "scrape_timeout": "1s"}
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = rule_files
    for manager in config["alerting"]["alertmanagers"]:
        for group in manager["static_configs"]:
            group["targets"] = [_map_address(t, addresses) for t in group["targets"]]
    jobs = []
    for job in config["scrape_configs"]:
        if job["job_name"] in not_running:
            continue
        job.pop("scrape_interval", None)
        job.pop("scrape_timeout", None)
        groups = job.pop("static_configs", [])
        # DNS discovery of the replicas becomes one static target per discovered name.
        for sd in job.pop("dns_sd_configs", []):
            groups += [{"targets": [f"{name}:{sd['port']}"]} for name in sd["names"]]
        kept = []
        for group in groups:
            targets = [t for t in group["targets"] if _host(t) not in not_running]
            if targets:
                kept.append(group | {"targets": [_map_address(t, addresses) for t in targets]})
        job["static_configs"] = kept
        for relabel in job.get("relabel_configs", []):
            if relabel.get("target_label") == "__address__" and "replacement" in relabel:
                relabel["replacement"] = _map_address(relabel["replacement"], addresses)
        jobs.append(job)
    config["scrape_configs"] = jobs
    return config


def live_rules(target_dir: Path, *, for_duration: str = LIVE_FOR) -> list[Path]:
    """Copies of the real rule files, every alert's `for:` set to `for_duration`."""
    target_dir.mkdir(parents=True, exist_ok=True)
    copies = []
    for path in sorted(RULES_DIR.glob("*.yml")):
        rules = yaml.safe_load(path.read_text())
        for group in rules["groups"]:
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = for_duration
        copy = target_dir / path.name
        copy.write_text(yaml.safe_dump(rules, sort_keys=False))
        copies.append(copy)
    return copies


# ------------------------------------------------------------------ Alertmanager config


def alertmanager_config(real: dict[str, Any], *, webhook_base: str) -> dict[str, Any]:
    """The real config with webhooks posting to `webhook_base` + their URL's path, templates
    read from the repository, and group waits of one second."""
    config: dict[str, Any] = json.loads(json.dumps(real))
    config["templates"] = [
        str(ALERTMANAGER_YML.parent / pattern) for pattern in config.get("templates", [])
    ]
    for receiver in config["receivers"]:
        for webhook in receiver.get("webhook_configs", []):
            webhook["url"] = webhook_base + urlsplit(webhook["url"]).path

    def quicken(route: dict[str, Any]) -> None:
        for key in ("group_wait", "group_interval"):
            if key in route or route is config["route"]:
                route[key] = "1s"
        for child in route.get("routes", []):
            quicken(child)

    quicken(config["route"])
    return config


# ------------------------------------------------------------------ webhook receiver


@dataclass
class Notification:
    path: str
    body: dict[str, Any]
    received: float  # time.time()


@dataclass
class WebhookSink:
    """Records every POST (Alertmanager's webhook JSON) with the path it was sent to."""

    url: str
    notifications: list[Notification] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[Notification]:
        with self.lock:
            return list(self.notifications)


@contextmanager
def webhook_sink() -> Iterator[WebhookSink]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    sink = WebhookSink(url=f"http://127.0.0.1:{server.server_address[1]}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            with sink.lock:
                sink.notifications.append(Notification(self.path, body, time.time()))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server.RequestHandlerClass = Handler
    with serving(server):
        yield sink


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
