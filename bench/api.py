"""The real app under uvicorn for a benchmark: started on a free loopback port, waited for
until ready, and stopped afterwards."""

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack.postgres import free_port
from devstack.supervisor import http_ok

REPO = Path(__file__).resolve().parent.parent


@contextmanager
def running_api(
    env: dict[str, str], *uvicorn_args: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Yields the API's URL and its uvicorn process once /health/ready answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", *uvicorn_args,
        ],
        env={**env, "PYTHONPATH": str(REPO)},
        cwd=REPO,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not http_ok(f"{url}/health/ready"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("API did not start")
            time.sleep(0.2)
        yield url, process
    finally:
        process.terminate()
        process.wait(30)
