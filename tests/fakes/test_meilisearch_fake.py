"""The fake Meilisearch, driven through the official SDK and, for the wire format, raw HTTP."""

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import meilisearch
import pytest
from meilisearch.errors import MeilisearchApiError, MeilisearchCommunicationError
from meilisearch.index import Index
from meilisearch.models.task import Task, TaskInfo

from tests.fakes.meilisearch import FakeMeilisearch

MASTER_KEY = "fake-master-key-for-tests-0123456789"
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
DOCUMENTS: list[dict[str, Any]] = [
    {
        "id": 1,
        "title": "Quarterly invoice",
        "content": "The invoice for the third quarter is attached. Payment is due within "
        "thirty days of receipt.",
        "tags": ["finance", "billing"],
        "content_type": "application/pdf",
        "year": 2023,
    },
    {
        "id": 2,
        "title": "Onboarding guide",
        "content": "Welcome aboard! This guide explains where invoices are archived.",
        "tags": ["hr"],
        "content_type": "text/markdown",
        "year": 2024,
    },
    {
        "id": 3,
        "title": "Café menu",
        "content": "Espresso and croissants are served every morning.",
        "tags": ["office", "food"],
        "content_type": "application/pdf",
        "year": 2022,
    },
]


@pytest.fixture
def server() -> Iterator[FakeMeilisearch]:
    with FakeMeilisearch(master_key=MASTER_KEY) as fake:
        yield fake


@pytest.fixture
def client(server: FakeMeilisearch) -> meilisearch.Client:
    return meilisearch.Client(server.url, MASTER_KEY)


def succeed(client: meilisearch.Client, info: TaskInfo) -> Task:
    task = client.wait_for_task(info.task_uid)
    assert task.status == "succeeded", task.error
    return task


@pytest.fixture
def documents(client: meilisearch.Client) -> Index:
    index = client.index("documents")
    succeed(client, client.create_index("documents", {"primaryKey": "id"}))
    settings = {
        "filterableAttributes": ["tags", "content_type"],
        "sortableAttributes": ["year"],
    }
    succeed(client, index.update_settings(settings))
    succeed(client, index.add_documents(DOCUMENTS))
    return index


def ids(result: dict[str, Any]) -> list[Any]:
    return [hit["id"] for hit in result["hits"]]


def test_health_needs_no_api_key(server: FakeMeilisearch) -> None:
    assert meilisearch.Client(server.url).health() == {"status": "available"}


def test_index_creation_is_an_asynchronous_task(client: meilisearch.Client) -> None:
    info = client.create_index("notes", {"primaryKey": "id"})
    assert (info.status, info.type, info.index_uid) == ("enqueued", "indexCreation", "notes")

    task = succeed(client, info)

    assert task.details == {"primaryKey": "id"}
    assert task.started_at is not None
    assert task.finished_at is not None
    assert task.duration is not None
    assert task.duration.startswith("PT")
    assert client.get_index("notes").primary_key == "id"
    again = client.wait_for_task(client.create_index("notes").task_uid)
    assert again.status == "failed"
    assert again.error is not None
    assert again.error["code"] == "index_already_exists"


def test_missing_index_is_index_not_found(client: meilisearch.Client) -> None:
    with pytest.raises(MeilisearchApiError) as raised:
        client.get_index("nowhere")
    assert (raised.value.status_code, raised.value.code) == (404, "index_not_found")


def test_settings_are_stored_next_to_the_defaults(client: meilisearch.Client) -> None:
    index = client.index("notes")
    succeed(client, index.update_settings({"searchableAttributes": ["title", "content"]}))

    settings = index.get_settings()

    assert settings["searchableAttributes"] == ["title", "content"]
    assert settings["filterableAttributes"] == []
    assert settings["rankingRules"] == [
        "words",
        "typo",
        "proximity",
        "attribute",
        "sort",
        "exactness",
    ]


def test_unknown_setting_is_refused(client: meilisearch.Client) -> None:
    with pytest.raises(MeilisearchApiError) as raised:
        client.index("notes").update_settings({"filterable": ["tags"]})
    assert (raised.value.status_code, raised.value.code) == (400, "bad_request")


def test_highlight_fills_formatted(documents: Index) -> None:
    result = documents.search("invoice", {"attributesToHighlight": ["*"]})

    assert ids(result) == [1, 2]
    first, second = result["hits"]
    assert first["title"] == "Quarterly invoice"
    assert first["_formatted"]["title"] == "Quarterly <em>invoice</em>"
    assert first["_formatted"]["id"] == "1"  # numbers are strings in `_formatted`
    assert first["_formatted"]["tags"] == ["finance", "billing"]
    # the last query word is a prefix: only the typed part is highlighted
    assert "<em>invoice</em>s are archived" in second["_formatted"]["content"]


def test_crop_around_the_match_with_custom_tags(documents: Index) -> None:
    result = documents.search(
        "payment",
        {
            "attributesToCrop": ["content"],
            "cropLength": 5,
            "attributesToHighlight": ["content"],
            "highlightPreTag": "<mark>",
            "highlightPostTag": "</mark>",
        },
    )

    formatted = result["hits"][0]["_formatted"]
    assert formatted["content"] == "…<mark>Payment</mark> is due within thirty…"
    assert formatted["title"] == "Quarterly invoice"  # retrieved, neither highlighted nor cropped


def test_crop_without_match_starts_at_the_first_word(documents: Index) -> None:
    result = documents.search("", {"attributesToCrop": ["content:3"], "cropMarker": "[…]"})

    assert result["hits"][0]["_formatted"]["content"] == "The invoice for[…]"


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        pytest.param("tags = finance", [1], id="array-contains"),
        pytest.param('content_type = "application/pdf"', [1, 3], id="equality-quoted"),
        pytest.param("content_type = 'APPLICATION/PDF'", [1, 3], id="case-insensitive"),
        pytest.param("content_type != 'application/pdf'", [2], id="inequality"),
        pytest.param("tags = office AND content_type = 'application/pdf'", [3], id="and-of-two"),
        pytest.param("tags IN [hr, food]", [2, 3], id="in"),
        pytest.param("(tags = hr OR tags = finance) AND NOT tags = billing", [2], id="nested"),
        pytest.param(
            [["tags = hr", "tags = food"], "content_type = 'text/markdown'"], [2], id="array-form"
        ),
    ],
)
def test_filters(documents: Index, filter_: str | list[Any], expected: list[int]) -> None:
    assert ids(documents.search("", {"filter": filter_})) == expected


def test_filter_combines_with_the_query(documents: Index) -> None:
    assert ids(documents.search("invoice", {"filter": "tags = hr"})) == [2]


@pytest.mark.parametrize(
    "filter_",
    ["year = 2023", "tags = = finance", "tags IN [hr", "(tags = hr"],
    ids=["not-filterable", "double-operator", "unclosed-list", "unclosed-parenthesis"],
)
def test_bad_filters_are_invalid_search_filter(documents: Index, filter_: str) -> None:
    with pytest.raises(MeilisearchApiError) as raised:
        documents.search("", {"filter": filter_})
    assert (raised.value.status_code, raised.value.code) == (400, "invalid_search_filter")


def test_non_filterable_message_names_the_filterable_attributes(documents: Index) -> None:
    with pytest.raises(MeilisearchApiError) as raised:
        documents.search("", {"filter": "year = 2023"})
    assert "Attribute `year` is not filterable" in raised.value.message
    assert "`content_type`, `tags`" in raised.value.message


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("inv", [1, 2], id="prefix"),
        pytest.param("invoce", [1, 2], id="one-typo"),
        pytest.param("xnvoice", [], id="first-letter-typo-counts-twice"),
        pytest.param("cafe", [3], id="accents-folded"),
        pytest.param("INVOICE zebra", [1, 2], id="last-words-dropped"),
        pytest.param("zebra invoice", [], id="first-word-required"),
        pytest.param("invoices guide", [2, 1], id="more-words-rank-first"),
    ],
)
def test_matching(documents: Index, query: str, expected: list[int]) -> None:
    assert ids(documents.search(query)) == expected


def test_accent_folded_match_is_highlighted_in_the_original(documents: Index) -> None:
    result = documents.search("cafe", {"attributesToHighlight": ["title"]})
    assert result["hits"][0]["_formatted"]["title"] == "<em>Café</em> menu"


def test_pagination(client: meilisearch.Client) -> None:
    index = client.index("many")
    batch = [{"id": n, "title": f"note {n}"} for n in range(25)]
    succeed(client, index.add_documents(batch, primary_key="id"))

    first = index.search("note")
    page = index.search("note", {"limit": 10, "offset": 20})

    assert (first["limit"], first["offset"], first["estimatedTotalHits"]) == (20, 0, 25)
    assert ids(first) == list(range(20))
    assert ids(page) == list(range(20, 25))
    assert set(first) == {
        "hits",
        "query",
        "processingTimeMs",
        "limit",
        "offset",
        "estimatedTotalHits",
    }


def test_sort(documents: Index) -> None:
    assert ids(documents.search("", {"sort": ["year:desc"]})) == [2, 1, 3]
    with pytest.raises(MeilisearchApiError) as raised:
        documents.search("", {"sort": ["title:asc"]})
    assert raised.value.code == "invalid_search_sort"


def test_post_replaces_and_put_merges_documents(
    client: meilisearch.Client, documents: Index
) -> None:
    succeed(client, documents.add_documents([{"id": 1, "title": "Replaced"}]))
    assert dict(documents.get_document(1)) == {"id": 1, "title": "Replaced"}

    succeed(client, documents.update_documents([{"id": 1, "tags": ["merged"]}]))
    assert dict(documents.get_document(1)) == {"id": 1, "title": "Replaced", "tags": ["merged"]}
    assert ids(documents.search("")) == [1, 2, 3]  # replaced in place, not appended


def test_delete_document(client: meilisearch.Client, documents: Index) -> None:
    task = succeed(client, documents.delete_document(2))

    assert task.details == {"providedIds": 1, "deletedDocuments": 1, "originalFilter": None}
    with pytest.raises(MeilisearchApiError) as raised:
        documents.get_document(2)
    assert (raised.value.status_code, raised.value.code) == (404, "document_not_found")
    assert ids(documents.search("guide")) == []


@pytest.mark.parametrize(
    ("document", "code"),
    [
        pytest.param({"title": "no id"}, "missing_document_id", id="missing-id"),
        pytest.param({"id": "not valid!", "title": "x"}, "invalid_document_id", id="invalid-id"),
    ],
)
def test_a_bad_document_fails_the_whole_task(
    client: meilisearch.Client, documents: Index, document: dict[str, Any], code: str
) -> None:
    info = documents.add_documents([{"id": 9, "title": "fine"}, document])

    task = client.wait_for_task(info.task_uid)

    assert task.status == "failed"
    assert task.error is not None
    assert task.error["code"] == code
    assert task.details == {"receivedDocuments": 2, "indexedDocuments": 0}
    assert ids(documents.search("")) == [1, 2, 3]


def test_primary_key_is_inferred_from_a_field_ending_in_id(client: meilisearch.Client) -> None:
    index = client.index("inferred")
    succeed(client, index.add_documents([{"note_id": "a-1", "title": "x"}]))
    assert index.get_primary_key() == "note_id"


def test_wrong_api_key_is_invalid_api_key(server: FakeMeilisearch) -> None:
    with pytest.raises(MeilisearchApiError) as raised:
        meilisearch.Client(server.url, "not-the-master-key").get_index("documents")
    assert (raised.value.status_code, raised.value.code) == (403, "invalid_api_key")


def test_missing_authorization_header(server: FakeMeilisearch) -> None:
    client = meilisearch.Client(server.url)
    del client.http.headers["Authorization"]  # the SDK sends `Bearer None` otherwise

    with pytest.raises(MeilisearchApiError) as raised:
        client.get_version()

    assert (raised.value.status_code, raised.value.code) == (401, "missing_authorization_header")
    assert raised.value.type == "auth"


def test_tasks_are_listed_newest_first(client: meilisearch.Client, documents: Index) -> None:
    listed = client.get_tasks({"indexUids": ["documents"], "limit": 2})

    assert [t.type for t in listed.results] == ["documentAdditionOrUpdate", "settingsUpdate"]
    assert listed.total == 3
    assert listed.next_ == 0


def test_an_outage_keeps_the_data(
    server: FakeMeilisearch, client: meilisearch.Client, documents: Index
) -> None:
    server.stop()
    with pytest.raises(MeilisearchCommunicationError):
        documents.search("invoice")
    assert client.is_healthy() is False

    server.start()

    assert ids(documents.search("invoice")) == [1, 2]
    assert documents.get_settings()["filterableAttributes"] == ["tags", "content_type"]
    assert client.get_task(0).status == "succeeded"


def wait_raw(http: httpx.Client, task_uid: int) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        task: dict[str, Any] = http.get(f"/tasks/{task_uid}").json()
        if task["status"] not in ("enqueued", "processing"):
            return task
        time.sleep(0.02)
    raise AssertionError(f"task {task_uid} still not processed")


def test_wire_format(server: FakeMeilisearch) -> None:
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    with httpx.Client(base_url=server.url, headers=headers) as http:
        accepted = http.post("/indexes/wire/documents?primaryKey=id", json=[{"id": "a", "n": 1}])
        summary = accepted.json()
        task = wait_raw(http, summary["taskUid"])
        missing = http.get("/indexes/missing")
        anonymous = httpx.get(f"{server.url}/indexes/wire")

    assert accepted.status_code == 202
    assert set(summary) == {"taskUid", "indexUid", "status", "type", "enqueuedAt"}
    assert summary["indexUid"] == "wire"
    assert summary["status"] == "enqueued"
    assert summary["type"] == "documentAdditionOrUpdate"
    assert RFC3339.fullmatch(summary["enqueuedAt"])

    assert set(task) == {
        "uid",
        "batchUid",
        "indexUid",
        "status",
        "type",
        "canceledBy",
        "details",
        "error",
        "duration",
        "enqueuedAt",
        "startedAt",
        "finishedAt",
    }
    assert task["uid"] == summary["taskUid"]
    assert task["status"] == "succeeded"
    assert task["details"] == {"receivedDocuments": 1, "indexedDocuments": 1}
    assert task["error"] is None
    assert task["canceledBy"] is None
    assert isinstance(task["batchUid"], int)
    assert re.fullmatch(r"PT\d+(\.\d+)?S", task["duration"])
    assert all(RFC3339.fullmatch(task[k]) for k in ("enqueuedAt", "startedAt", "finishedAt"))

    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/json"
    assert missing.json() == {
        "message": "Index `missing` not found.",
        "code": "index_not_found",
        "type": "invalid_request",
        "link": "https://docs.meilisearch.com/errors#index_not_found",
    }
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "missing_authorization_header"
    assert anonymous.json()["type"] == "auth"
