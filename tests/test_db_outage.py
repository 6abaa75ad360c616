"""The pool against a database that goes away: fast 503s with Retry-After, recovery by itself."""

import shutil
import threading
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from app.db import DatabaseStartupError
from app.migrate import run_migrations
from devstack.postgres import EmbeddedPostgres, free_port
from tests.conftest import make_settings, metric_value, running_app, start_embedded_postgres

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

# Bounds that catch a hang, not a speed target: an outage must be answered within the acquire
# timeout (1 s here) plus a connect attempt, never left waiting for the database to come back.
HANG_GUARD_SECONDS = 15

CONTACT = {"name": "Ada", "email": "ada@example.com", "subject": "s", "message": "m"}


@pytest.fixture
def own_server() -> Iterator[EmbeddedPostgres]:
    """A server this test may stop and start without disturbing other tests."""
    server, base = start_embedded_postgres()
    try:
        run_migrations(server.conninfo())
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def outage_settings(server: EmbeddedPostgres, **overrides: Any) -> Any:
    return make_settings(server.conninfo(), db_pool_timeout=1.0, db_connect_timeout=2, **overrides)


async def assert_unavailable(response: httpx.Response, code: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert response.json()["error"]["code"] == code


async def test_restarted_database_gives_503_then_recovers(own_server: EmbeddedPostgres) -> None:
    async with running_app(outage_settings(own_server)) as (_app, client):
        before = await client.post("/api/contact", json=CONTACT)
        assert before.status_code == 201

        own_server.stop()
        with anyio.fail_after(HANG_GUARD_SECONDS):
            await assert_unavailable(
                await client.post("/api/contact", json=CONTACT), "database_unavailable"
            )
            await assert_unavailable(
                await client.get(f"/api/contacts/{before.json()['id']}"), "database_unavailable"
            )
            await assert_unavailable(await client.get("/db-check"), "database_unavailable")
            await assert_unavailable(await client.get("/health/ready"), "not_ready")
        assert (await client.get("/health")).status_code == 200  # liveness stays up

        own_server.start()
        with anyio.fail_after(60):
            while (response := await client.post("/api/contact", json=CONTACT)).status_code != 201:
                assert response.status_code == 503
                await anyio.sleep(0.2)
        assert (await client.get("/health/ready")).status_code == 200
        kept = await client.get(f"/api/contacts/{before.json()['id']}")
        assert kept.status_code == 200


async def test_exhausted_pool_answers_503_within_acquire_timeout(
    own_server: EmbeddedPostgres,
) -> None:
    settings = outage_settings(own_server, db_pool_min_size=1, db_pool_max_size=1)
    async with running_app(settings) as (app, client):
        before = metric_value((await client.get("/metrics")).text, "db_pool_timeouts_total")
        async with app.state.resources.db.pool.connection():
            with anyio.fail_after(HANG_GUARD_SECONDS):
                response = await client.post("/api/contact", json=CONTACT)
            await assert_unavailable(response, "database_unavailable")
        assert (await client.post("/api/contact", json=CONTACT)).status_code == 201
        timeouts = metric_value((await client.get("/metrics")).text, "db_pool_timeouts_total")
    assert timeouts == before + 1


async def test_start_up_waits_for_a_late_database(own_server: EmbeddedPostgres) -> None:
    own_server.stop()
    starter = threading.Timer(1.5, own_server.start)
    starter.start()
    try:
        async with running_app(outage_settings(own_server, db_startup_timeout=60)) as (_, client):
            assert (await client.get("/db-check")).status_code == 200
    finally:
        starter.join()


async def test_start_up_gives_up_with_a_clear_error() -> None:
    nobody = EmbeddedPostgres.__new__(EmbeddedPostgres)  # only its conninfo is used
    nobody.port, nobody.user, nobody.password, nobody.database = free_port(), "u", "p", "d"
    settings = make_settings(nobody.conninfo(), db_startup_timeout=1.0, db_connect_timeout=1)
    with pytest.raises(DatabaseStartupError, match=r"database not reachable after \d+ attempts"):
        async with running_app(settings):
            pass
