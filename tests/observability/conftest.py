"""A live monitoring stack: the app (tests/stack.py: PostgreSQL, API with its worker, Caddy) on
a SeaweedFS that exports metrics, watched by a real Prometheus, Blackbox exporter and
Alertmanager run from config/, after some real traffic.

`live_prometheus` is what other tests reuse (e.g. "every dashboard panel returns data"): a
Prometheus that has scraped every target of config/prometheus/prometheus.yml that runs here and
evaluated the real rules, with `.url` and `.query(promql)`.
"""

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from devstack.postgres import free_port
from devstack.seaweedfs import EmbeddedSeaweedFS
from tests.conftest import S3_ACCESS_KEY, S3_SECRET_KEY
from tests.observability import monitoring
from tests.observability.monitoring import WebhookSink, loopback_client
from tests.observability.promql import load_rules
from tests.pdfs import MALFORMED_PDF, make_pdf
from tests.stack import Stack, running

# Compose services the live test does not run, so their jobs and probes are dropped from the
# test's Prometheus config: Meilisearch (no binary installs here; the app searches with
# PostgreSQL), Grafana, Loki and Alloy (not part of this test), and the separate worker (the
# API runs the worker in its own process here, WORKER_IN_APP=true).
NOT_RUNNING = {"worker", "meilisearch", "grafana", "loki", "alloy"}
SEARCH_WORD = "albatross"


class MeteredSeaweedFS(EmbeddedSeaweedFS):
    """SeaweedFS with its Prometheus endpoint on, as compose runs it (-metricsPort)."""

    def __init__(self, data_dir: Path, **kwargs: Any) -> None:
        super().__init__(data_dir, **kwargs)
        self.metrics_port = free_port()

    def argv(self) -> list[str]:
        return [*super().argv(), f"-metricsPort={self.metrics_port}"]


@dataclass
class LivePrometheus:
    url: str  # e.g. http://127.0.0.1:PORT/prometheus (the API is under /api/v1)

    def api(self, path: str, **params: str) -> Any:
        with loopback_client() as client:
            response = client.get(f"{self.url}/api/v1/{path}", params=params)
        body = response.json()
        if body.get("status") != "success":
            raise AssertionError(f"{path} {params}: {body}")
        return body["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query's result: [{"metric": {...}, "value": [time, "value"]}, ...]."""
        data = self.api("query", query=promql)
        assert data["resultType"] == "vector", data
        result: list[dict[str, Any]] = data["result"]
        return result


@dataclass
class LiveMonitoring:
    stack: Stack
    prometheus: LivePrometheus
    alertmanager_url: str
    sink: WebhookSink
    config: dict[str, Any]  # the Prometheus config it runs (derived from the real one)


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def send_traffic(site: str) -> None:
    """What visitors do, through the edge: pages, contacts, attachments, searches.

    One attachment is a malformed PDF: its processing job fails every attempt and is
    dead-lettered, so failure and dead-letter series exist too.
    """
    with httpx.Client(base_url=site, timeout=30, trust_env=False) as client:
        assert client.get("/").status_code == 200
        contact = {"name": "Ada", "email": "ada@example.com", "subject": "Hi", "message": "Hello"}
        for _ in range(3):
            assert client.post("/api/contact", json=contact).status_code == 201
        pdf = make_pdf([f"The {SEARCH_WORD} crosses the southern ocean."], title="Seabirds")
        created = client.post(
            "/api/contact",
            data=contact,
            files=[
                ("files", ("birds.pdf", pdf, "application/pdf")),
                ("files", ("broken.pdf", MALFORMED_PDF, "application/pdf")),
            ],
        )
        assert created.status_code == 201, created.text
        contact_id = created.json()["id"]
        good, broken = created.json()["attachments"]

        def processed() -> bool:
            states = {
                doc["id"]: doc["processing_status"]
                for doc in (client.get(f"/api/documents/{d['id']}").json() for d in (good, broken))
            }
            return states == {good["id"]: "completed", broken["id"]: "failed"}

        assert wait_until(processed, 60), "attachments were not processed"

        def found() -> bool:
            hits = client.get("/api/documents/search", params={"q": SEARCH_WORD}).json()
            return [hit["document"]["id"] for hit in hits["hits"]] == [good["id"]]

        assert wait_until(found, 30), "the PDF was not found by search"
        assert client.get(good["download_url"]).content == pdf
        assert client.get(f"/api/contacts/{contact_id}").status_code == 200
        assert client.get("/api/contacts").status_code == 200
        assert client.get("/api/documents/00000000-0000-0000-0000-000000000000").status_code == 404


def recorded_series_exist(prometheus: LivePrometheus) -> bool:
    names = {rule.name for rule in load_rules() if not rule.is_alert}
    return all(prometheus.query(f"count({name})") for name in names)


@pytest.fixture(scope="module")
def live_monitoring() -> Iterator[LiveMonitoring]:
    # Not pytest's tmp_path: PostgreSQL runs as another user and cannot enter it.
    base = Path(tempfile.mkdtemp(prefix="pytest-servers-"))
    s3 = MeteredSeaweedFS(
        base / "s3", s3_port=free_port(), access_key=S3_ACCESS_KEY, secret_key=S3_SECRET_KEY
    )
    stack = Stack(
        base / "data",
        env={
            "STORAGE_BACKEND": "s3",
            "S3_ENDPOINT": s3.endpoint,
            "S3_SECURE": "false",
            "S3_ACCESS_KEY": S3_ACCESS_KEY,
            "S3_SECRET_KEY": S3_SECRET_KEY,
            "S3_BUCKET": "documents",
            # A failing job reaches its last attempt in about a second.
            "JOB_POLL_SECONDS": "0.2",
            "JOB_RETRY_BASE_SECONDS": "0.05",
            "JOB_RETRY_MAX_SECONDS": "0.2",
        },
    )
    prometheus_port, alertmanager_port, blackbox_port = free_port(), free_port(), free_port()
    addresses = {
        "api:8000": f"127.0.0.1:{stack.api_port}",
        "caddy:8081": f"127.0.0.1:{stack.http_port}",
        "caddy:2020": f"127.0.0.1:{stack.caddy_metrics_port}",
        "postgres:5432": f"127.0.0.1:{stack.pg_port}",
        "s3:8333": s3.endpoint,
        "s3:9327": f"127.0.0.1:{s3.metrics_port}",
        "prometheus:9090": f"127.0.0.1:{prometheus_port}",
        "alertmanager:9093": f"127.0.0.1:{alertmanager_port}",
        "blackbox:9115": f"127.0.0.1:{blackbox_port}",
    }
    rules = monitoring.live_rules(base / "rules")
    config = monitoring.prometheus_config(
        yaml.safe_load(monitoring.PROMETHEUS_YML.read_text()),
        addresses=addresses,
        not_running=NOT_RUNNING,
        rule_files=[str(path) for path in rules],
    )
    try:
        s3.start()
        with monitoring.webhook_sink() as sink, running(stack):
            alertmanager_yml = monitoring.alertmanager_config(
                yaml.safe_load(monitoring.ALERTMANAGER_YML.read_text()),
                webhook_base=sink.url,
            )
            servers = [
                monitoring.blackbox_server(base, blackbox_port),
                monitoring.alertmanager_server(
                    monitoring.write_yaml(base / "alertmanager.yml", alertmanager_yml),
                    base,
                    alertmanager_port,
                ),
                # Only once the app runs: a target down at start would raise real alerts.
                monitoring.prometheus_server(
                    monitoring.write_yaml(base / "prometheus.yml", config), base, prometheus_port
                ),
            ]
            with monitoring.all_running(*servers):
                send_traffic(stack.site)
                prometheus = LivePrometheus(f"http://127.0.0.1:{prometheus_port}/prometheus")
                # Rates need two scrapes after the traffic; the tests assert, this only waits.
                wait_until(lambda: recorded_series_exist(prometheus), 60)
                yield LiveMonitoring(
                    stack=stack,
                    prometheus=prometheus,
                    alertmanager_url=f"http://127.0.0.1:{alertmanager_port}/alertmanager",
                    sink=sink,
                    config=config,
                )
    finally:
        s3.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def live_prometheus(live_monitoring: LiveMonitoring) -> LivePrometheus:
    return live_monitoring.prometheus
