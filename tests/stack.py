"""The no-Docker stack (`python -m devstack`, what `make run` starts) as tests drive it."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from devstack.postgres import free_port
from tests.conftest import REPO


class Stack:
    def __init__(
        self, data_dir: Path, *, workers: int = 1, env: Mapping[str, str] | None = None
    ) -> None:
        self.data_dir = data_dir
        self.api_port = free_port()
        self.pg_port = free_port()
        self.s3_port = free_port()
        self.http_port = free_port()
        self.caddy_admin_port = free_port()
        self.caddy_metrics_port = free_port()
        self.workers = workers
        self.env = dict(env or {})  # on top of os.environ, e.g. MAX_UPLOAD_BYTES
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"devstack-{self.api_port}.log"

    @property
    def url(self) -> str:
        """The API directly (uvicorn)."""
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def site(self) -> str:
        """Through the edge (Caddy), as a visitor sees it."""
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> None:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(
                ("DB_", "DATABASE_", "PROMETHEUS_", "STORAGE_", "S3_", "SITE_", "ADMIN_")
            )
        }
        env |= {
            "DEVSTACK_DATA_DIR": str(self.data_dir),
            "API_PORT": str(self.api_port),
            "DEVSTACK_PG_PORT": str(self.pg_port),
            "DEVSTACK_S3_PORT": str(self.s3_port),
            "DEVSTACK_HTTP_PORT": str(self.http_port),
            "DEVSTACK_CADDY_ADMIN_PORT": str(self.caddy_admin_port),
            "DEVSTACK_CADDY_METRICS_PORT": str(self.caddy_metrics_port),
            "WEB_CONCURRENCY": str(self.workers),
        }
        env |= self.env
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "devstack"],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 90
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"devstack did not become ready:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.3)

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.site}/health/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> int:
        """Ctrl-C, as a person would; returns devstack's exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def running(stack: Stack) -> Iterator[Stack]:
    stack.start()
    try:
        yield stack
    finally:
        if stack.process is not None and stack.process.poll() is None:
            stack.stop()
