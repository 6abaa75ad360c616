"""Multipart contacts with attachments, end to end through the API, on each storage backend."""

import hashlib
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import psycopg
import pytest
from fastapi import FastAPI
from minio import Minio
from starlette.types import Message

from app.jobs.service import Worker
from app.worker import TASKS
from devstack.seaweedfs import EmbeddedSeaweedFS
from tests.conftest import (
    S3_ACCESS_KEY,
    S3_SECRET_KEY,
    make_settings,
    metric_value,
    running_app,
    s3_settings,
)
from tests.pdfs import MALFORMED_PDF, make_pdf, make_png

pytestmark = pytest.mark.anyio

FIELDS = {"name": "Ada", "email": "ada@example.com", "subject": "Files", "message": "See attached"}
File = tuple[str, bytes, str]


async def post(
    client: httpx.AsyncClient, files: list[File], **fields: str | list[str]
) -> httpx.Response:
    return await client.post(
        "/api/contact",
        data={**FIELDS, **fields},
        files=[("files", file) for file in files],
    )


async def drain(app: FastAPI, *, until: Any = None, rounds: int = 50) -> None:
    """Run due jobs; with `until`, keep going (retries are due a little later) until it holds."""
    worker = Worker(app.state.resources, TASKS)
    for _ in range(rounds):
        await worker.drain()
        if until is None or await until():
            return
        await anyio.sleep(0.05)
    raise AssertionError("condition not reached after draining jobs")


def row_counts(db: psycopg.Connection[Any]) -> tuple[int, int]:
    contacts = db.execute("SELECT count(*) FROM contact_submissions").fetchone()
    documents = db.execute("SELECT count(*) FROM documents").fetchone()
    assert contacts is not None
    assert documents is not None
    return int(contacts[0]), int(documents[0])


Keys = Callable[[], list[str]]


@pytest.fixture(params=["filesystem", "s3"])
async def upload_app(
    request: pytest.FixtureRequest,
    database_conninfo: str,
    db: psycopg.Connection[Any],
    tmp_path: Path,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, Keys]]:
    """The app on one storage backend, and a way to list every object key it stored."""
    limits = {"max_upload_bytes": 3 * 1024 * 1024, "max_attachments": 3}
    if request.param == "filesystem":
        objects = tmp_path / "objects"
        settings = make_settings(database_conninfo, storage_dir=objects, **limits)

        def keys() -> list[str]:
            return sorted(str(p.relative_to(objects)) for p in objects.rglob("*") if p.is_file())

    else:
        server = request.getfixturevalue("seaweedfs")
        bucket = f"t-{uuid.uuid4().hex[:20]}"
        settings = make_settings(database_conninfo, **s3_settings(server, bucket), **limits)
        client = Minio(server.endpoint, S3_ACCESS_KEY, S3_SECRET_KEY, secure=False)

        def keys() -> list[str]:
            found = client.list_objects(bucket, recursive=True)
            return sorted(str(o.object_name) for o in found)

    async with running_app(settings) as (app, http):
        yield app, http, keys


async def test_two_files_stored_downloaded_processed_and_found(
    upload_app: tuple[FastAPI, httpx.AsyncClient, Keys], db: psycopg.Connection[Any]
) -> None:
    app, client, keys = upload_app
    pdf = make_pdf(
        ["Quarterly figures for the zeppelin fleet.", "Page two mentions ops@example.com."]
    )
    notes = b"Meeting notes\nThe zeppelin hangar needs a new roof. https://example.com/roof\n"
    response = await post(
        client, [("report.pdf", pdf, "application/pdf"), ("notes.txt", notes, "text/plain")]
    )
    assert response.status_code == 201, response.text
    attachments = response.json()["attachments"]
    assert [(a["filename"], a["content_type"], a["size_bytes"]) for a in attachments] == [
        ("report.pdf", "application/pdf", len(pdf)),
        ("notes.txt", "text/plain", len(notes)),
    ]
    assert attachments[0]["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert {a["processing_status"] for a in attachments} == {"pending"}
    contact_id = response.json()["id"]
    expected_keys = [f"documents/{contact_id}/{a['id']}" for a in attachments]
    stored = [r[0] for r in db.execute("SELECT storage_key FROM documents ORDER BY position")]
    assert stored == expected_keys
    assert keys() == sorted(f"documents/{contact_id}/{a['id']}" for a in attachments)

    download = await client.get(attachments[0]["download_url"])
    assert download.status_code == 200
    assert download.content == pdf
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith('attachment; filename="report.pdf"')
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["etag"] == f'"{attachments[0]["sha256"]}"'

    async def processed() -> bool:
        row = db.execute(
            "SELECT count(*) FROM documents WHERE processing_status = 'completed'"
        ).fetchone()
        return row is not None and row[0] == 2

    await drain(app, until=processed)
    document = (await client.get(f"/api/documents/{attachments[0]['id']}")).json()
    assert document["processing_status"] == "completed"
    assert document["insights"]["page_count"] == 2
    assert "ops@example.com" in document["insights"]["emails"]

    found = (await client.get("/api/documents/search", params={"q": "zeppelin fleet"})).json()
    assert found["backend"] == "postgres"
    assert [hit["document"]["id"] for hit in found["hits"]] == [attachments[0]["id"]]
    assert "<mark>zeppelin</mark>" in found["hits"][0]["snippet"].lower()
    by_type = await client.get(
        "/api/documents/search", params={"q": "zeppelin", "content_type": "text/plain"}
    )
    assert [hit["document"]["id"] for hit in by_type.json()["hits"]] == [attachments[1]["id"]]

    contact = (await client.get(f"/api/contacts/{contact_id}")).json()
    assert [a["id"] for a in contact["attachments"]] == [a["id"] for a in attachments]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\x\\evil.txt", "evil.txt"),
        ("in\u202etxt.exe.txt", "intxt.exe.txt"),
        ("a" * 300 + ".txt", "a" * 251 + ".txt"),
    ],
)
async def test_hostile_filenames_are_sanitized_and_never_used_as_keys(
    upload_app: tuple[FastAPI, httpx.AsyncClient, Keys],
    db: psycopg.Connection[Any],
    raw: str,
    expected: str,
) -> None:
    _, client, keys = upload_app
    response = await post(client, [(raw, b"plain words\n", "text/plain")])
    assert response.status_code == 201, response.text
    attachment = response.json()["attachments"][0]
    assert attachment["filename"] == expected
    assert keys() == [f"documents/{response.json()['id']}/{attachment['id']}"]


async def test_nul_in_filename_is_removed(
    upload_app: tuple[FastAPI, httpx.AsyncClient, Keys],
) -> None:
    _, client, _ = upload_app
    body = (
        b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nAda\r\n'
        b'--b\r\nContent-Disposition: form-data; name="email"\r\n\r\nada@example.com\r\n'
        b'--b\r\nContent-Disposition: form-data; name="subject"\r\n\r\ns\r\n'
        b'--b\r\nContent-Disposition: form-data; name="message"\r\n\r\nm\r\n'
        b'--b\r\nContent-Disposition: form-data; name="files"; filename="a\x00b.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nhello\r\n--b--\r\n"
    )
    response = await client.post(
        "/api/contact", content=body, headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["attachments"][0]["filename"] == "ab.txt"


EXE = b"MZ\x90\x00" + b"\x00" * 64
HTML = b"<html><script>alert(1)</script></html>"
REJECTED: dict[str, tuple[list[File], int, str]] = {
    "empty file": ([("empty.txt", b"", "text/plain")], 422, "empty_file"),
    "executable": ([("tool.exe", EXE, "application/octet-stream")], 415, "unsupported_file_type"),
    "html": ([("page.txt", HTML, "text/plain")], 415, "unsupported_file_type"),
    "png named pdf": (
        [("invoice.pdf", make_png(2, 2), "application/pdf")],
        415,
        "file_type_mismatch",
    ),
    "too many files": (
        [(f"f{i}.txt", b"x", "text/plain") for i in range(4)],
        422,
        "too_many_attachments",
    ),
}


@pytest.mark.parametrize(("files", "status", "code"), REJECTED.values(), ids=REJECTED.keys())
async def test_rejected_files_leave_nothing_behind(
    upload_app: tuple[FastAPI, httpx.AsyncClient, Keys],
    db: psycopg.Connection[Any],
    files: list[File],
    status: int,
    code: str,
) -> None:
    _, client, keys = upload_app
    # A good file first: it is already in storage when the bad one arrives.
    response = await post(client, [("ok.txt", b"fine", "text/plain"), *files])
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert row_counts(db) == (0, 0)
    assert keys() == []
    pending = db.execute("SELECT count(*) FROM jobs WHERE status = 'pending'").fetchone()
    assert pending == (0,)  # cleanup jobs of removed uploads are cancelled too


async def test_invalid_fields_remove_already_uploaded_files(
    upload_app: tuple[FastAPI, httpx.AsyncClient, Keys], db: psycopg.Connection[Any]
) -> None:
    _, client, keys = upload_app
    response = await post(client, [("ok.txt", b"fine", "text/plain")], email="not-an-email")
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "email"
    assert row_counts(db) == (0, 0)
    assert keys() == []


async def test_file_over_the_limit_is_413_with_and_without_content_length(
    upload_app: tuple[FastAPI, httpx.AsyncClient, Keys], db: psycopg.Connection[Any]
) -> None:
    _, client, keys = upload_app
    big = b"a" * (3 * 1024 * 1024 + 1)
    sized = await post(client, [("big.txt", big, "text/plain")])
    assert sized.status_code == 413
    assert sized.json()["error"]["details"] == {"limit": 3 * 1024 * 1024}

    boundary = "chunked-boundary"
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in FIELDS.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    )
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield head.encode()
        for _ in range(64):  # 8 MiB in 128 KiB chunks; the server must stop reading early
            sent += 128 * 1024
            yield b"a" * (128 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    chunked = await client.post(
        "/api/contact",
        content=body(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert "content-length" not in chunked.request.headers
    assert chunked.status_code == 413
    assert row_counts(db) == (0, 0)
    assert keys() == []


async def test_client_hanging_up_mid_upload_leaves_nothing_and_is_no_server_error(
    upload_app: tuple[FastAPI, httpx.AsyncClient, Keys],
    db: psycopg.Connection[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One file arrived whole, the next is cut off: the ASGI server reports a disconnect."""
    app, client, keys = upload_app
    form = httpx.Request(
        "POST",
        "http://api/api/contact",
        data=FIELDS,
        files=[
            ("files", ("whole.txt", b"arrived whole", "text/plain")),
            ("files", ("cut.txt", b"a" * 512 * 1024, "text/plain")),
        ],
    )
    body = form.read()
    messages: list[Message] = [
        {"type": "http.request", "body": body[: len(body) // 2], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/contact",
        "raw_path": b"/api/contact",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"api"), (b"content-type", form.headers["content-type"].encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("api", 80),
    }
    labels = {"method": "POST", "route": "/api/contact", "status": "499"}
    before = metric_value((await client.get("/metrics")).text, "http_requests_total", **labels)
    with caplog.at_level("ERROR"):
        await app(scope, receive, send)

    assert sent == []  # nobody to answer
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
    after = metric_value((await client.get("/metrics")).text, "http_requests_total", **labels)
    assert after == before + 1
    assert row_counts(db) == (0, 0)
    # The whole file is removed at once; the cut-off one by its cleanup job, made due now.
    db.execute("UPDATE jobs SET run_at = now() WHERE status = 'pending'")
    await drain(app)
    assert keys() == []
    assert db.execute("SELECT task, status FROM jobs").fetchall() == [
        ("delete_orphan_object", "done")
    ]


async def test_malformed_pdf_fails_after_retries_and_contact_is_kept(
    upload_app: tuple[FastAPI, httpx.AsyncClient, Keys], db: psycopg.Connection[Any]
) -> None:
    app, client, _ = upload_app
    response = await post(client, [("broken.pdf", MALFORMED_PDF, "application/pdf")])
    assert response.status_code == 201
    document_id = response.json()["attachments"][0]["id"]

    async def failed() -> bool:
        row = db.execute(
            "SELECT processing_status FROM documents WHERE id = %s", (document_id,)
        ).fetchone()
        return row == ("failed",)

    await drain(app, until=failed)
    document = (await client.get(f"/api/documents/{document_id}")).json()
    assert document["processing_status"] == "failed"
    assert "PDF" in document["processing_error"]
    job = db.execute(
        "SELECT status, attempts, max_attempts FROM jobs WHERE task = 'process_document'"
    ).fetchone()
    assert job is not None
    assert job[0] == "dead"
    assert job[1] == job[2] > 1
    assert (await client.get(f"/api/contacts/{response.json()['id']}")).status_code == 200
    dead = (await client.get("/api/jobs", params={"status": "dead"})).json()
    assert [j["task"] for j in dead] == ["process_document"]
    metrics = (await client.get("/metrics")).text
    assert metric_value(metrics, "documents", status="failed") == 1
    assert metric_value(metrics, "jobs", task="process_document", status="dead") == 1


async def test_object_store_down_is_503_with_no_rows_and_no_orphan(
    database_conninfo: str, db: psycopg.Connection[Any], own_seaweedfs: EmbeddedSeaweedFS
) -> None:
    server = own_seaweedfs
    bucket = "outage"
    settings = make_settings(database_conninfo, **s3_settings(server, bucket))
    async with running_app(settings) as (_, client):
        server.stop()
        response = await post(client, [("a.txt", b"words", "text/plain")])
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json()["error"]["code"] == "storage_unavailable"
        assert row_counts(db) == (0, 0)
        ready = (await client.get("/health/ready")).json()
        assert (ready["status"], ready["checks"]["storage"]["ok"]) == ("degraded", False)
        server.start()
        contact_only = await client.post("/api/contact", json=FIELDS)
        assert contact_only.status_code == 201
    minio = Minio(server.endpoint, S3_ACCESS_KEY, S3_SECRET_KEY, secure=False)
    assert list(minio.list_objects(bucket, recursive=True)) == []
