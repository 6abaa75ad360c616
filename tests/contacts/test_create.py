"""POST /api/contact: the three body encodings, and every kind of bad input losing nothing."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import make_settings, running_app

pytestmark = pytest.mark.anyio


def stored_count(db: psycopg.Connection[Any]) -> int:
    row = db.execute("SELECT count(*) FROM contact_submissions").fetchone()
    assert row is not None
    return int(row[0])


async def test_json_submission_is_stored(
    client: httpx.AsyncClient, db: psycopg.Connection[Any], contact_json: dict[str, Any]
) -> None:
    response = await client.post(
        "/api/contact",
        json=contact_json | {"tags": ["Sales", " sales ", "Urgent"]},
        headers={"user-agent": "test-agent/1.0"},
    )
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/api/contacts/{body['id']}"
    assert body["name"] == "Ada Lovelace"
    assert body["message"] == "Could the engine compose music?\nRegards, Ada"
    assert body["tags"] == ["sales", "urgent"]
    assert body["source"] == "api"

    row = db.execute(
        "SELECT name, email, subject, message, metadata FROM contact_submissions WHERE id = %s",
        (body["id"],),
    ).fetchone()
    assert row is not None
    name, email, subject, message, metadata = row
    assert (name, email, subject) == ("Ada Lovelace", "ada@example.com", "Engine question")
    assert message == contact_json["message"]
    assert metadata == {
        "source": "api",
        "user_agent": "test-agent/1.0",
        "client_ip": "127.0.0.1",
        "tags": ["sales", "urgent"],
        "custom": {"campaign": "autumn"},
    }


async def test_urlencoded_form_is_stored_as_website_submission(
    client: httpx.AsyncClient, db: psycopg.Connection[Any]
) -> None:
    response = await client.post(
        "/api/contact",
        data={
            "name": "Bob",
            "email": "bob@example.com",
            "subject": "Quote",
            "message": "Line one\r\nLine two\twith a tab",
            "tags": "a, b",
            "submit": "Send",  # form buttons and unknown fields are ignored
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["source"] == "website"
    assert body["tags"] == ["a", "b"]
    assert body["message"] == "Line one\r\nLine two\twith a tab"
    assert stored_count(db) == 1


async def test_multipart_form_with_repeated_tags_and_metadata(
    client: httpx.AsyncClient, db: psycopg.Connection[Any]
) -> None:
    response = await client.post(
        "/api/contact",
        data={
            "name": "Cleo",
            "email": "cleo@example.com",
            "subject": "Hello",
            "message": "Hi",
            "tags": ["x", "y"],
            "metadata": '{"page": "/pricing"}',
        },
        files={"unused": ("empty.txt", b"", "text/plain")},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["tags"] == ["x", "y"]
    assert body["metadata"]["custom"] == {"page": "/pricing"}
    assert response.request.headers["content-type"].startswith("multipart/form-data")


def _with(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "Ada",
        "email": "ada@example.com",
        "subject": "Hi",
        "message": "Hello",
    }
    for key, value in changes.items():
        if value is ...:
            base.pop(key)
        else:
            base[key] = value
    return base


INVALID_JSON_BODIES = {
    "missing name": (_with(name=...), "name"),
    "empty subject": (_with(subject=""), "subject"),
    "whitespace-only message": (_with(message="   \n "), "message"),
    "bad email": (_with(email="not-an-email"), "email"),
    "email without domain dot": (_with(email="a@b"), "email"),
    "name too long": (_with(name="n" * 201), "name"),
    "subject too long": (_with(subject="s" * 201), "subject"),
    "message too long": (_with(message="m" * 10_001), "message"),
    "email too long": (_with(email="a" * 250 + "@example.com"), "email"),
    "NUL in name": (_with(name="Ada\x00"), "name"),
    "NUL in email": (_with(email="ada\x00@example.com"), "email"),
    "NUL in subject": (_with(subject="\x00"), "subject"),
    "NUL in message": (_with(message="hi\x00there"), "message"),
    "bell in name": (_with(name="Ada\x07"), "name"),
    "newline in subject": (_with(subject="Hi\nBcc: x"), "subject"),
    "escape in message": (_with(message="\x1b[31mred"), "message"),
    "lone surrogate in name": (_with(name="\ud800"), "name"),
    "NUL in tag": (_with(tags=["ok", "b\x00d"]), "tags.1"),
    "too many tags": (_with(tags=[f"t{i}" for i in range(21)]), "tags"),
    "tag too long": (_with(tags=["t" * 51]), "tags.0"),
    "NUL in metadata value": (_with(metadata={"k": "v\x00"}), "metadata"),
    "NUL in metadata key": (_with(metadata={"k\x00": "v"}), "metadata"),
    "metadata not an object": (_with(metadata=[1, 2]), "metadata"),
    "metadata too large": (_with(metadata={"k": "v" * 5000}), "metadata"),
    "unknown field": (_with(admin=True), "admin"),
    "wrong type": (_with(name=42), "name"),
}


@pytest.mark.parametrize(
    ("body", "field"), INVALID_JSON_BODIES.values(), ids=INVALID_JSON_BODIES.keys()
)
async def test_invalid_fields_are_422_naming_the_field(
    client: httpx.AsyncClient, db: psycopg.Connection[Any], body: dict[str, Any], field: str
) -> None:
    # ASCII-escaped JSON, as a client would send a lone surrogate ("\ud800") on the wire.
    content = json.dumps(body, ensure_ascii=True).encode()
    response = await client.post(
        "/api/contact", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in {detail["field"] for detail in error["details"]}
    assert field in error["message"]
    assert stored_count(db) == 0


async def test_nul_and_control_characters_in_forms_are_422(
    client: httpx.AsyncClient, db: psycopg.Connection[Any]
) -> None:
    response = await client.post(
        "/api/contact",
        data={"name": "A\x00", "email": "a@example.com", "subject": "s\x01", "message": "m"},
    )
    assert response.status_code == 422
    assert {d["field"] for d in response.json()["error"]["details"]} == {"name", "subject"}
    assert stored_count(db) == 0


async def test_validation_errors_do_not_echo_input(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/contact", json=_with(email="secret-value-xyz"))
    assert response.status_code == 422
    assert "secret-value-xyz" not in response.text


MALFORMED = {
    "truncated JSON": (b'{"name": "Ada"', "application/json", 400, "invalid_json"),
    "JSON array": (b"[1, 2]", "application/json", 400, "invalid_json"),
    "JSON string": (b'"hello"', "application/json", 400, "invalid_json"),
    "invalid UTF-8": (b'{"name": "\xff\xfe"}', "application/json", 400, "invalid_json"),
    "empty JSON body": (b"", "application/json", 400, "invalid_json"),
    "plain text": (b"hello", "text/plain", 415, "unsupported_media_type"),
    "XML": (b"<contact/>", "application/xml", 415, "unsupported_media_type"),
    "no content type": (b"{}", "", 415, "unsupported_media_type"),
    "multipart without boundary": (b"x", "multipart/form-data", 400, "invalid_multipart"),
    "multipart cut short": (
        b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nAda',
        "multipart/form-data; boundary=b",
        400,
        "invalid_multipart",
    ),
}


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"), MALFORMED.values(), ids=MALFORMED.keys()
)
async def test_malformed_bodies_get_json_errors(
    client: httpx.AsyncClient,
    db: psycopg.Connection[Any],
    content: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post("/api/contact", content=content, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == code
    assert stored_count(db) == 0


async def test_body_over_limit_is_413_by_content_length(
    client: httpx.AsyncClient, db: psycopg.Connection[Any]
) -> None:
    body = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    response = await client.post(
        "/api/contact", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": "request body exceeds 1048576 bytes",
        "details": {"limit": 1048576},
    }
    assert stored_count(db) == 0


async def test_chunked_body_over_limit_is_413(
    database_conninfo: str, db: psycopg.Connection[Any]
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(10):
            yield b"x" * 1024

    async with running_app(make_settings(database_conninfo, max_request_bytes=4096)) as (_, client):
        response = await client.post(
            "/api/contact", content=chunks(), headers={"content-type": "application/json"}
        )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"]["details"] == {"limit": 4096}
    assert stored_count(db) == 0


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    given = await client.get("/health", headers={"x-request-id": "edge-abc-123"})
    assert given.headers["x-request-id"] == "edge-abc-123"
    generated = await client.post("/api/contact", content=b"x", headers={"content-type": "x/y"})
    assert len(generated.headers["x-request-id"]) == 32
    forged = await client.get("/health", headers={"x-request-id": "bad id\twith spaces"})
    assert forged.headers["x-request-id"] != "bad id\twith spaces"
