"""The job queue: retries with backoff, dead letters, leases, idempotent handlers, restarts."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import anyio
import httpx
import psycopg
import pytest
from fastapi import FastAPI

from app.documents.tasks import DELETE_ORPHAN_OBJECT, PROCESS_DOCUMENT
from app.jobs.service import Task, Worker, backoff, enqueue
from app.notifications import NewContactNotice
from app.resources import Resources
from app.storage import ObjectNotFoundError
from app.worker import TASKS
from tests.conftest import make_settings, metric_value, running_app

pytestmark = pytest.mark.anyio

CONTACT = {"name": "Ada", "email": "ada@example.com", "subject": "Hi", "message": "Hello"}


@pytest.fixture
async def app_client(
    database_conninfo: str, db: psycopg.Connection[Any]
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app(make_settings(database_conninfo)) as pair:
        yield pair


def job_rows(db: psycopg.Connection[Any], task: str) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT status, attempts, last_error FROM jobs WHERE task = %s ORDER BY id", (task,)
    ).fetchall()


async def run_until_idle(worker: Worker, db: psycopg.Connection[Any], task: str) -> None:
    """Drain, then make retries due now instead of waiting for their backoff."""
    for _ in range(20):
        await worker.drain()
        moved = db.execute(
            "UPDATE jobs SET run_at = now() WHERE task = %s AND status = 'pending'", (task,)
        ).rowcount
        if not moved:
            return
    raise AssertionError("jobs kept coming back")


async def test_fails_twice_then_succeeds(
    app_client: tuple[FastAPI, httpx.AsyncClient], db: psycopg.Connection[Any]
) -> None:
    app, client = app_client
    calls: list[dict[str, Any]] = []

    async def flaky(_resources: Resources, payload: dict[str, Any]) -> None:
        calls.append(payload)
        if len(calls) < 3:
            raise ConnectionError(f"outage {len(calls)}")

    task = Task("flaky", flaky, max_attempts=5)
    async with app.state.resources.db.transaction() as conn:
        await enqueue(conn, task, {"n": 1})
    before = metric_value((await client.get("/metrics")).text, "job_failures_total", task="flaky")
    await run_until_idle(Worker(app.state.resources, [task]), db, "flaky")

    assert calls == [{"n": 1}] * 3
    assert job_rows(db, "flaky") == [("done", 3, "ConnectionError: outage 2")]
    after = metric_value((await client.get("/metrics")).text, "job_failures_total", task="flaky")
    assert after == before + 2


async def test_exhausted_job_is_dead_lettered_visible_and_retryable(
    app_client: tuple[FastAPI, httpx.AsyncClient], db: psycopg.Connection[Any]
) -> None:
    app, client = app_client
    gave_up: list[str] = []

    async def broken(_resources: Resources, _payload: dict[str, Any]) -> None:
        raise ValueError("always")

    async def on_dead(_resources: Resources, _payload: dict[str, Any], error: str) -> None:
        gave_up.append(error)

    task = Task("broken", broken, max_attempts=3, on_dead=on_dead)
    async with app.state.resources.db.transaction() as conn:
        job_id = await enqueue(conn, task, {})
    await run_until_idle(Worker(app.state.resources, [task]), db, "broken")

    assert job_rows(db, "broken") == [("dead", 3, "ValueError: always")]
    assert gave_up == ["ValueError: always"]
    dead = (await client.get("/api/jobs", params={"status": "dead"})).json()
    assert [(j["id"], j["task"], j["last_error"]) for j in dead] == [
        (job_id, "broken", "ValueError: always")
    ]
    metrics = (await client.get("/metrics")).text
    assert metric_value(metrics, "jobs", task="broken", status="dead") == 1

    retried = await client.post(f"/api/jobs/{job_id}/retry")
    assert retried.status_code == 200
    assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
    again = await client.post(f"/api/jobs/{job_id}/retry")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "job_not_dead"
    assert (await client.post("/api/jobs/999999/retry")).status_code == 404


async def test_job_of_a_dead_worker_is_picked_up_after_its_lease(
    app_client: tuple[FastAPI, httpx.AsyncClient], db: psycopg.Connection[Any]
) -> None:
    app, _ = app_client
    ran: list[int] = []

    async def record(_resources: Resources, payload: dict[str, Any]) -> None:
        ran.append(payload["n"])

    task = Task("record", record)
    async with app.state.resources.db.transaction() as conn:
        await enqueue(conn, task, {"n": 7})
    # A worker claimed it and died: running, lease still valid, then expired.
    db.execute(
        "UPDATE jobs SET status = 'running', attempts = 1, locked_until = now() + interval '1 hour'"
    )
    worker = Worker(app.state.resources, [task])
    assert await worker.drain() == 0
    db.execute("UPDATE jobs SET locked_until = now() - interval '1 second'")
    assert await worker.drain() == 1
    assert ran == [7]
    assert job_rows(db, "record") == [("done", 2, None)]


async def test_unknown_task_is_dead_lettered(
    app_client: tuple[FastAPI, httpx.AsyncClient], db: psycopg.Connection[Any]
) -> None:
    app, _ = app_client
    db.execute("INSERT INTO jobs (task, payload, max_attempts) VALUES ('nobody', '{}', 3)")
    await Worker(app.state.resources, TASKS).drain()
    assert job_rows(db, "nobody") == [("dead", 1, "unknown task 'nobody'")]


def test_backoff_grows_and_is_capped() -> None:
    delays = [backoff(n, base=2, cap=60).total_seconds() for n in range(1, 10)]
    assert 1.6 <= delays[0] <= 2.4
    assert 3.2 <= delays[1] <= 4.8
    assert all(d <= 72 for d in delays)
    assert delays[-1] >= 48


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[NewContactNotice] = []
        self.failures = 0

    async def send_new_contact(self, notice: NewContactNotice) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("mail service down")
        self.sent.append(notice)

    async def close(self) -> None:
        return None


async def test_notification_waits_out_a_mail_outage_and_is_sent_once(
    app_client: tuple[FastAPI, httpx.AsyncClient], db: psycopg.Connection[Any]
) -> None:
    app, client = app_client
    notifier = RecordingNotifier()
    notifier.failures = 2
    resources = app.state.resources
    app.state.resources = Resources(**{**resources_fields(resources), "notifier": notifier})
    response = await client.post("/api/contact", json=CONTACT | {"tags": ["vip"]})
    assert response.status_code == 201

    worker = Worker(app.state.resources, TASKS)
    await run_until_idle(worker, db, "notify_admin")
    assert [(n.contact_id, n.subject, n.tags) for n in notifier.sent] == [
        (UUID(response.json()["id"]), "Hi", ["vip"])
    ]
    # Delivered again (a retry after a crash, a manual requeue): nothing more is sent.
    async with app.state.resources.db.transaction() as conn:
        await enqueue(conn, TASKS[0], {"contact_id": response.json()["id"]})
    await worker.drain()
    assert len(notifier.sent) == 1


def resources_fields(resources: Resources) -> dict[str, Any]:
    return {name: getattr(resources, name) for name in Resources.__slots__}


async def test_processing_twice_changes_nothing(
    app_client: tuple[FastAPI, httpx.AsyncClient], db: psycopg.Connection[Any]
) -> None:
    app, client = app_client
    response = await client.post(
        "/api/contact",
        data=CONTACT,
        files=[("files", ("a.md", b"# Title\n\nSome words about kites.", "text/markdown"))],
    )
    assert response.status_code == 201
    document_id = response.json()["attachments"][0]["id"]
    worker = Worker(app.state.resources, TASKS)
    await worker.drain()
    first = db.execute(
        "SELECT processing_status, insights, extracted_text, updated_at FROM documents"
    ).fetchone()
    async with app.state.resources.db.transaction() as conn:
        await enqueue(conn, PROCESS_DOCUMENT, {"document_id": document_id})
    assert await worker.drain() == 1
    second = db.execute(
        "SELECT processing_status, insights, extracted_text, updated_at FROM documents"
    ).fetchone()
    assert first == second
    assert first is not None
    assert first[0] == "completed"
    assert first[1]["title"] == "Title"


async def test_work_committed_before_a_crash_runs_after_restart(
    database_conninfo: str, db: psycopg.Connection[Any], tmp_path: Any
) -> None:
    settings = make_settings(database_conninfo, storage_dir=tmp_path / "objects")
    # The first process accepts the contact and dies before its worker runs anything.
    async with running_app(settings) as (_, client):
        response = await client.post(
            "/api/contact",
            data=CONTACT,
            files=[("files", ("n.txt", b"parachute notes", "text/plain"))],
        )
        assert response.status_code == 201
    pending = db.execute("SELECT task FROM jobs WHERE status = 'pending' ORDER BY task").fetchall()
    # The upload's cleanup job was cancelled by the commit; the follow-up work is waiting.
    assert [row[0] for row in pending] == ["index_document", "notify_admin", "process_document"]
    # The next process (with its in-app worker on) finishes the work by itself.
    restarted = make_settings(
        database_conninfo,
        storage_dir=tmp_path / "objects",
        worker_in_app=True,
        job_poll_seconds=0.05,
    )
    async with running_app(restarted) as (_, client):
        for _ in range(100):
            status = db.execute("SELECT processing_status FROM documents").fetchone()
            left = db.execute("SELECT count(*) FROM jobs WHERE status <> 'done'").fetchone()
            if status == ("completed",) and left == (0,):
                break
            await anyio.sleep(0.05)
        found = (await client.get("/api/documents/search", params={"q": "parachute"})).json()
    assert status == ("completed",)
    assert left == (0,)
    assert found["total"] == 1
    notified = db.execute("SELECT notified_at IS NOT NULL FROM contact_submissions").fetchone()
    assert notified == (True,)


async def test_orphan_cleanup_keeps_committed_objects_and_removes_orphans(
    app_client: tuple[FastAPI, httpx.AsyncClient], db: psycopg.Connection[Any]
) -> None:
    app, client = app_client
    resources: Resources = app.state.resources
    response = await client.post(
        "/api/contact", data=CONTACT, files=[("files", ("k.txt", b"keep me", "text/plain"))]
    )
    kept_key = db.execute("SELECT storage_key FROM documents").fetchone()
    assert kept_key is not None

    async def chunks() -> AsyncIterator[bytes]:
        yield b"orphan"

    await resources.storage.put("documents/x/orphan", chunks(), content_type="text/plain")
    async with resources.db.transaction() as conn:
        await enqueue(conn, DELETE_ORPHAN_OBJECT, {"storage_key": "documents/x/orphan"})
        await enqueue(conn, DELETE_ORPHAN_OBJECT, {"storage_key": kept_key[0]})
    await Worker(resources, TASKS).drain()

    missing = resources.storage.get("documents/x/orphan")
    with pytest.raises(ObjectNotFoundError):
        await anext(missing)
    download = await client.get(response.json()["attachments"][0]["download_url"])
    assert download.content == b"keep me"


async def test_scheduled_cleanup_is_not_due_before_the_grace_period(
    app_client: tuple[FastAPI, httpx.AsyncClient], db: psycopg.Connection[Any]
) -> None:
    app, _ = app_client
    async with app.state.resources.db.transaction() as conn:
        await enqueue(conn, DELETE_ORPHAN_OBJECT, {"storage_key": "k"}, delay=timedelta(hours=1))
    assert await Worker(app.state.resources, TASKS).drain() == 0
