"""`python -m app.worker`: the separate worker compose runs, as a real process."""

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from devstack.postgres import free_port
from tests.conftest import REPO, make_settings, metric_value, process_env, running_app

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_worker_process_runs_queued_work_serves_metrics_and_stops_cleanly(
    database_conninfo: str, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    objects = tmp_path / "objects"
    # The API accepts a contact with a file; its own worker is off, as in compose.
    async with running_app(make_settings(database_conninfo, storage_dir=objects)) as (_, client):
        response = await client.post(
            "/api/contact",
            data={"name": "Ada", "email": "ada@example.com", "subject": "s", "message": "m"},
            files=[("files", ("w.txt", b"windmill maintenance schedule", "text/plain"))],
        )
        assert response.status_code == 201

    metrics_port = free_port()
    env = process_env(
        database_conninfo,
        STORAGE_BACKEND="filesystem",
        STORAGE_DIR=str(objects),
        JOB_POLL_SECONDS="0.1",
        WORKER_METRICS_PORT=str(metrics_port),
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.worker"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            left = db.execute("SELECT count(*) FROM jobs WHERE status <> 'done'").fetchone()
            if left == (0,):
                break
            time.sleep(0.1)
        assert db.execute("SELECT processing_status FROM documents").fetchone() == ("completed",)
        assert left == (0,)
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert (
            metric_value(
                metrics, "job_duration_seconds_count", task="process_document", outcome="done"
            )
            == 1
        )
        assert metric_value(metrics, "app_build_info", version="0.1.0") == 1
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output.decode()
    assert b"worker stopped" in output
