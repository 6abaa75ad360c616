"""The real edge: Caddy with config/caddy/Caddyfile in front of the real app (uvicorn)."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.caddy import CADDYFILE, caddy_binary, hash_password
from devstack.postgres import free_port
from devstack.supervisor import http_ok
from tests.conftest import REPO, process_env, serving

ADMIN_PASSWORD = "edge-test-password"
MAX_UPLOAD_BYTES = 512 * 1024
MAX_ATTACHMENTS = 2
MAX_REQUEST_BYTES = 64 * 1024
# The API here takes MAX_ATTACHMENTS + 1 files, so its own body limit is above the edge's cap
# and a form that crosses the cap is still one the API would read to the end: a 413 is the edge's.
EDGE_BODY_LIMIT = MAX_ATTACHMENTS * MAX_UPLOAD_BYTES + MAX_REQUEST_BYTES
API_UPLOAD_LIMIT = (MAX_ATTACHMENTS + 1) * MAX_UPLOAD_BYTES + MAX_REQUEST_BYTES


class _AdminUiStandIn(BaseHTTPRequestHandler):
    """Answers like an admin UI would, echoing the path it was asked for."""

    def do_GET(self) -> None:
        body = f"admin-ui saw {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@dataclass
class Edge:
    site: str  # through Caddy
    api: str  # uvicorn directly
    admin_hash: str
    log_file: Path
    caddy: subprocess.Popen[bytes]
    env: dict[str, str]


def caddy_env(**values: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), **values}


def wait_until(check: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {timeout:.0f}s")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def admin_hash() -> str:
    return hash_password(ADMIN_PASSWORD)


@pytest.fixture(scope="session")
def admin_ui() -> Iterator[str]:
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _AdminUiStandIn)) as url:
        yield url.removeprefix("http://")


@pytest.fixture(scope="session")
def api_process(database_conninfo: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = process_env(
        database_conninfo,
        STORAGE_BACKEND="filesystem",
        STORAGE_DIR=str(tmp_path_factory.mktemp("edge-objects")),
        MAX_UPLOAD_BYTES=str(MAX_UPLOAD_BYTES),
        MAX_ATTACHMENTS=str(MAX_ATTACHMENTS + 1),
        MAX_REQUEST_BYTES=str(MAX_REQUEST_BYTES),
        LOG_LEVEL="WARNING",
    )
    process = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app",
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
            "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1",
        ],
        cwd=REPO,
        env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(f"{url}/health/ready"), "API")
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def start_caddy(env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [str(caddy_binary()), "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    admin = env["CADDY_ADMIN"]
    try:
        wait_until(lambda: http_ok(f"http://{admin}/config/"), "Caddy")
    except RuntimeError:
        process.kill()
        raise RuntimeError(log_file.read_text()[-3000:]) from None
    return process


@pytest.fixture(scope="session")
def edge(
    api_process: str, admin_ui: str, admin_hash: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Edge]:
    state = tmp_path_factory.mktemp("caddy")
    port = free_port()
    env = caddy_env(
        SITE_ADDRESS=f"http://127.0.0.1:{port}",
        CADDY_BIND="127.0.0.1",
        CADDY_ADMIN=f"127.0.0.1:{free_port()}",
        CADDY_METRICS_PORT=str(free_port()),
        API_UPSTREAMS=api_process.removeprefix("http://"),
        WEBSITE_ROOT=str(REPO / "website"),
        MAX_BODY_SIZE=str(EDGE_BODY_LIMIT),
        ADMIN_USER="admin",
        ADMIN_PASSWORD_HASH=admin_hash,
        GRAFANA_UPSTREAM=admin_ui,
        S3_CONSOLE_UPSTREAM=admin_ui,
        PROMETHEUS_UPSTREAM=f"127.0.0.1:{free_port()}",  # nothing listens: not running
        ALERTMANAGER_UPSTREAM=f"127.0.0.1:{free_port()}",
        XDG_DATA_HOME=str(state / "data"),
        XDG_CONFIG_HOME=str(state / "config"),
    )
    log_file = state / "caddy.log"
    process = start_caddy(env, log_file)
    try:
        yield Edge(
            site=f"http://127.0.0.1:{port}",
            api=api_process,
            admin_hash=admin_hash,
            log_file=log_file,
            caddy=process,
            env=env,
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


@pytest.fixture
def site(edge: Edge) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=edge.site, timeout=30) as client:
        yield client
