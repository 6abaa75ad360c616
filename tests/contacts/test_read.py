"""Reading contacts back: by id, paged newest-first, filtered by tag through the GIN index."""

import uuid
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.types.json import Jsonb

from app.contacts import repository
from tests.conftest import make_settings, running_app

pytestmark = pytest.mark.anyio


async def create(client: httpx.AsyncClient, n: int, **extra: Any) -> dict[str, Any]:
    body = {"name": f"P{n}", "email": f"p{n}@example.com", "subject": "s", "message": "m"}
    response = await client.post("/api/contact", json=body | extra)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_get_by_id_round_trips(client: httpx.AsyncClient) -> None:
    created = await create(client, 1, tags=["t"])
    response = await client.get(f"/api/contacts/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created


async def test_unknown_id_is_404(client: httpx.AsyncClient) -> None:
    missing = uuid.uuid4()
    response = await client.get(f"/api/contacts/{missing}")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "not_found",
            "message": f"contact {missing} does not exist",
            "details": None,
        }
    }


@pytest.mark.parametrize("bad_id", ["123", "not-a-uuid", "%00", "' OR 1=1 --"])
async def test_malformed_id_is_422(client: httpx.AsyncClient, bad_id: str) -> None:
    response = await client.get(f"/api/contacts/{bad_id}")
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "contact_id"


async def test_keyset_pagination_walks_every_row_once_newest_first(
    client: httpx.AsyncClient,
) -> None:
    created = [await create(client, n) for n in range(7)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/api/contacts", params=params)
        assert response.status_code == 200
        page = response.json()
        pages += 1
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [c["id"] for c in reversed(created)]


async def test_rows_inserted_during_paging_do_not_shift_pages(client: httpx.AsyncClient) -> None:
    first_batch = [await create(client, n) for n in range(4)]
    first = (await client.get("/api/contacts", params={"limit": 2})).json()
    await create(client, 99)  # newer than everything: must not appear on later pages
    second = (
        await client.get("/api/contacts", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [i["id"] for i in second["items"]] == [first_batch[1]["id"], first_batch[0]["id"]]


@pytest.mark.parametrize("cursor", ["garbage", "eyJ0IjogMX0", "e30", "%00", "x" * 200])
async def test_invalid_cursor_is_422(client: httpx.AsyncClient, cursor: str) -> None:
    response = await client.get("/api/contacts", params={"cursor": cursor})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"tag": "a\x00b"}, "tag")],
)
async def test_invalid_query_is_422(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    response = await client.get("/api/contacts", params=params)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == field


async def test_tag_filter(client: httpx.AsyncClient) -> None:
    wanted = await create(client, 1, tags=["billing", "vip"])
    await create(client, 2, tags=["support"])
    await create(client, 3)
    response = await client.get("/api/contacts", params={"tag": "VIP"})
    assert [item["id"] for item in response.json()["items"]] == [wanted["id"]]


async def test_tag_filter_uses_the_gin_index(
    database_conninfo: str, db: psycopg.Connection[Any]
) -> None:
    with db.cursor() as cur:
        cur.executemany(
            "INSERT INTO contact_submissions (name, email, subject, message, metadata) "
            "VALUES ('n', 'n@example.com', 's', 'm', %s)",
            [(Jsonb({"tags": ["common", f"t{i % 50}"]}),) for i in range(5000)]
            + [(Jsonb({"tags": ["rare"]}),) for _ in range(3)],
        )
    db.execute("ANALYZE contact_submissions")

    async with running_app(make_settings(database_conninfo)) as (app, client):
        async with app.state.resources.db.transaction() as conn:
            plan = await repository.explain_list_contacts(conn, limit=21, tag="rare")
        response = await client.get("/api/contacts", params={"tag": "rare"})

    assert "ix_contact_submissions_metadata" in plan, plan
    assert "Bitmap Index Scan" in plan, plan
    assert len(response.json()["items"]) == 3
