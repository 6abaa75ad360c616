"""Document search, the same behaviour on each backend: PostgreSQL full-text search, and
Meilisearch (the wire-protocol fake here, or a real server when MEILI_URL is set)."""

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import psycopg
import pytest
from fastapi import FastAPI

from app.jobs.service import Worker
from app.worker import TASKS
from tests.conftest import make_settings, running_app
from tests.fakes.meilisearch import FakeMeilisearch

pytestmark = pytest.mark.anyio

MASTER_KEY = "test-master-key-0123456789"
CONTACT = {"name": "Ada", "email": "ada@example.com", "subject": "s", "message": "m"}


@pytest.fixture(scope="module")
def meilisearch_server() -> Iterator[tuple[str, str, FakeMeilisearch | None]]:
    """(url, key, fake or None). A real server when MEILI_URL (and MEILI_API_KEY) are set."""
    if url := os.environ.get("MEILI_URL"):
        yield url, os.environ.get("MEILI_API_KEY", ""), None
        return
    fake = FakeMeilisearch(master_key=MASTER_KEY)
    fake.start()
    try:
        yield fake.url, MASTER_KEY, fake
    finally:
        fake.stop()


@pytest.fixture(params=["postgres", "meilisearch"])
async def search_app(
    request: pytest.FixtureRequest,
    database_conninfo: str,
    db: psycopg.Connection[Any],
    tmp_path: Path,
    worker_id: str,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    overrides: dict[str, Any] = {"storage_dir": tmp_path / "objects"}
    if request.param == "meilisearch":
        url, key, _ = request.getfixturevalue("meilisearch_server")
        overrides |= {
            "search_backend": "meilisearch",
            "meili_url": url,
            "meili_api_key": key,
            # One index per test: tests stay independent on a shared (real) server.
            "meili_index": f"test_{worker_id}_{abs(hash(request.node.nodeid))}",
        }
    async with running_app(make_settings(database_conninfo, **overrides)) as pair:
        yield pair


async def upload(client: httpx.AsyncClient, files: list[tuple[str, bytes]], **extra: Any) -> None:
    response = await client.post(
        "/api/contact",
        data=CONTACT | extra,
        files=[("files", (name, content, "application/octet-stream")) for name, content in files],
    )
    assert response.status_code == 201, response.text


async def settle(app: FastAPI) -> None:
    """Run jobs until none is left: a retried one (a slow engine under load) is due shortly."""
    worker = Worker(app.state.resources, TASKS)
    for _ in range(200):
        await worker.drain()
        async with app.state.resources.db.transaction() as conn:
            cur = await conn.execute("SELECT count(*) AS n FROM jobs WHERE status <> 'done'")
            row = await cur.fetchone()
        if row is not None and row["n"] == 0:
            return
        await anyio.sleep(0.05)
    raise AssertionError("jobs did not settle")


async def search(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/documents/search", params=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_finds_words_from_inside_files_with_safe_highlights(
    search_app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = search_app
    await upload(
        client,
        [
            ("kites.txt", b"Notes on <script>alert(1)</script> flying kites in strong wind."),
            ("boats.txt", b"Sailing boats need wind as well, but no string."),
        ],
    )
    await settle(app)
    result = await search(client, q="kites")
    assert result["backend"] == app.state.resources.search.name
    assert [hit["document"]["filename"] for hit in result["hits"]] == ["kites.txt"]
    snippet = result["hits"][0]["snippet"]
    assert "<mark>kites</mark>" in snippet
    # Markup in a document never reaches the page as markup: escaped (Meilisearch) or
    # dropped by ts_headline's parser (PostgreSQL).
    assert "<script>" not in snippet
    assert "alert(1)" in snippet
    assert result["hits"][0]["document"]["processing_status"] == "completed"


async def test_filters_by_tag_and_content_type(
    search_app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = search_app
    await upload(client, [("a.txt", b"harbour report")], tags="ports")
    await upload(client, [("b.md", b"# Harbour\n\nmarkdown harbour notes")], tags="ports")
    await upload(client, [("c.txt", b"harbour again")], tags="other")
    await settle(app)

    tagged = await search(client, q="harbour", tag="ports")
    assert sorted(hit["document"]["filename"] for hit in tagged["hits"]) == ["a.txt", "b.md"]
    markdown = await search(client, q="harbour", tag="ports", content_type="text/markdown")
    assert [hit["document"]["filename"] for hit in markdown["hits"]] == ["b.md"]
    assert (await search(client, q="harbour", tag="nothing-here"))["hits"] == []


async def test_pages_through_results(search_app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = search_app
    for n in range(5):
        await upload(client, [(f"doc{n}.txt", f"lighthouse number {n}".encode())])
    await settle(app)
    first = await search(client, q="lighthouse", limit=2)
    second = await search(client, q="lighthouse", limit=2, offset=2)
    last = await search(client, q="lighthouse", limit=2, offset=4)
    assert first["total"] == 5
    names = [h["document"]["filename"] for page in (first, second, last) for h in page["hits"]]
    assert sorted(names) == [f"doc{n}.txt" for n in range(5)]
    assert (await search(client, q="lighthouse", limit=2, offset=10))["hits"] == []


async def test_empty_query_lists_newest_first(
    search_app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = search_app
    await upload(client, [("old.txt", b"first")])
    await anyio.sleep(0.01)
    await upload(client, [("new.txt", b"second")])
    await settle(app)
    result = await search(client)
    assert [h["document"]["filename"] for h in result["hits"]] == ["new.txt", "old.txt"]


@pytest.mark.parametrize("params", [{"q": "a\x00b"}, {"limit": 0}, {"offset": -1}, {"tag": ""}])
async def test_bad_queries_are_422(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    response = await client.get("/api/documents/search", params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_search_engine_outage_delays_indexing_but_loses_nothing(
    database_conninfo: str,
    db: psycopg.Connection[Any],
    tmp_path: Path,
    meilisearch_server: tuple[str, str, FakeMeilisearch | None],
) -> None:
    url, key, fake = meilisearch_server
    if fake is None:
        pytest.skip("needs the fake, which a test can stop and start (MEILI_URL is set)")
    settings = make_settings(
        database_conninfo,
        storage_dir=tmp_path / "objects",
        search_backend="meilisearch",
        meili_url=url,
        meili_api_key=key,
        meili_index="outage_test",
        meili_timeout_seconds=2,
    )
    async with running_app(settings) as (app, client):
        fake.stop()
        try:
            await upload(client, [("storm.txt", b"thunderstorm warning for the coast")])
            down = await client.get("/api/documents/search", params={"q": "thunderstorm"})
            assert down.status_code == 503
            assert down.json()["error"]["code"] == "search_unavailable"
            ready = (await client.get("/health/ready")).json()
            assert ready["status"] == "degraded"
            assert ready["checks"]["search"]["ok"] is False
            await Worker(app.state.resources, TASKS).drain()  # every due job, once
            failing = db.execute(
                "SELECT attempts, last_error FROM jobs WHERE task = 'index_document' "
                "AND status = 'pending'"
            ).fetchall()
            assert failing
            assert all("SearchUnavailableError" in row[1] for row in failing)
        finally:
            fake.start()
        db.execute("UPDATE jobs SET run_at = now() WHERE status = 'pending'")  # skip the backoff
        await settle(app)
        result = await search(client, q="thunderstorm")
    assert [h["document"]["filename"] for h in result["hits"]] == ["storm.txt"]
