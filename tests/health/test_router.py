"""Liveness, readiness, /db-check, the root document and the OpenAPI description."""

from collections.abc import Iterator

import httpx
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from app.migrate import head_revision
from tests.conftest import make_settings, running_app

pytestmark = pytest.mark.anyio


async def test_liveness(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readiness_reports_each_dependency(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["database"]["latency_ms"] >= 0
    assert body["checks"]["migrations"] == {
        "ok": True,
        "critical": True,
        "latency_ms": None,
        "detail": f"schema at {head_revision()}, expected {head_revision()}",
    }
    assert body["checks"]["storage"]["ok"] is True
    assert body["checks"]["storage"]["critical"] is False
    assert body["checks"]["search"] == {
        "ok": True,
        "critical": False,
        "latency_ms": body["checks"]["search"]["latency_ms"],
        "detail": "postgres",
    }


@pytest.fixture
def unmigrated_database(admin_conninfo: str) -> Iterator[str]:
    name = "test_unmigrated"
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield make_conninfo(admin_conninfo, dbname=name)
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


async def test_readiness_fails_when_schema_is_not_migrated(unmigrated_database: str) -> None:
    async with running_app(make_settings(unmigrated_database)) as (_app, client):
        response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["migrations"]["ok"] is False
    assert (
        body["checks"]["migrations"]["detail"] == f"schema at nothing, expected {head_revision()}"
    )
    assert body["error"]["code"] == "not_ready"
    assert "migrations" in body["error"]["message"]


async def test_db_check(client: httpx.AsyncClient) -> None:
    response = await client.get("/db-check")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert isinstance(body["latency_ms"], float)


async def test_root_links(client: httpx.AsyncClient) -> None:
    body = (await client.get("/")).json()
    assert body["service"] == "contact-api"
    assert body["links"]["docs"] == "/docs"
    for link in body["links"].values():
        assert (await client.get(link)).status_code == 200, link


async def test_openapi_describes_the_api(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["title"] == "Contact API"
    assert "POST /api/contact" in spec["info"]["description"]
    assert {tag["name"] for tag in spec["tags"]} == {
        "contacts",
        "documents",
        "jobs",
        "health",
        "operations",
    }
    create = spec["paths"]["/api/contact"]["post"]
    assert set(create["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }
    assert {"201", "400", "413", "415", "422", "503"} <= set(create["responses"])
    schema = spec["components"]["schemas"]["ContactCreate"]
    assert schema["examples"][0]["email"] == "ada@example.com"
    assert create["summary"] == "Create Contact"
    assert create["description"].startswith("Store a contact submission")
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text


async def test_unknown_route_and_method_use_the_error_shape(client: httpx.AsyncClient) -> None:
    missing = await client.get("/no/such/page")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong_method = await client.delete("/health")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


async def test_limits_mirror_what_validation_enforces(client: httpx.AsyncClient) -> None:
    limits = (await client.get("/api/limits")).json()
    assert limits["max_attachments"] == 5
    assert limits["max_upload_bytes"] == 25 * 1024 * 1024
    assert "application/pdf" in limits["allowed_types"]
    assert ".pdf" in limits["allowed_extensions"]
    for field, rule in limits["fields"].items():
        too_long = {
            "name": "n",
            "email": "e@example.com",
            "subject": "s",
            "message": "m",
        }
        too_long[field] = ("x" * rule["max_length"]) + ("@example.com" if field == "email" else "x")
        response = await client.post("/api/contact", json=too_long)
        assert response.status_code == 422, field
        assert response.json()["error"]["details"][0]["field"] == field
