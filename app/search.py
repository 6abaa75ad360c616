"""Document search: Meilisearch, or PostgreSQL full-text search on the documents table.

Both return document ids in rank order with a highlighted snippet; the service reads the
current rows from PostgreSQL, which stays the source of truth.
"""

import html
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

import anyio.to_thread
import meilisearch
from meilisearch.errors import MeilisearchApiError, MeilisearchCommunicationError, MeilisearchError

from app import metrics
from app.config import Settings
from app.db import Database
from app.documents import repository
from app.documents.repository import HIGHLIGHT_END, HIGHLIGHT_START
from app.errors import ServiceUnavailableError

logger = logging.getLogger(__name__)

SNIPPET_CHARS = 240


class SearchUnavailableError(ServiceUnavailableError):
    def __init__(self, reason: str, *, retry_after: int = 5) -> None:
        super().__init__(
            "search_unavailable", "search is unavailable; retry shortly", retry_after=retry_after
        )
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SearchDocument:
    """What goes into the search index for one document."""

    id: UUID
    contact_id: UUID
    filename: str
    content_type: str
    tags: list[str]
    text: str
    created_at: float  # epoch seconds: sortable in every engine


@dataclass(frozen=True, slots=True)
class SearchQuery:
    q: str
    tag: str | None = None
    content_type: str | None = None
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: UUID
    snippet: str  # HTML-escaped text with <mark>…</mark> around matches


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[SearchHit] = field(default_factory=list)
    total: int = 0


class SearchBackend(Protocol):
    name: str

    async def setup(self) -> None:
        """Create the index and apply its settings. Idempotent."""

    async def check(self) -> None:
        """Raise SearchUnavailableError unless the engine answers."""

    async def index(self, document: SearchDocument) -> None:
        """Add or replace one document; raises SearchUnavailableError (the job retries)."""

    async def delete(self, document_id: UUID) -> None: ...

    async def search(self, query: SearchQuery) -> SearchPage: ...


def render_snippet(marked: str) -> str:
    """Escape document text for HTML, then turn the private-use markers into <mark> tags."""
    escaped = html.escape(marked, quote=False)
    return escaped.replace(HIGHLIGHT_START, "<mark>").replace(HIGHLIGHT_END, "</mark>")


class PostgresSearch:
    """Full-text search on `documents.search_vector`, kept current by PostgreSQL itself."""

    name = "postgres"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def setup(self) -> None:
        return None  # the migration created the generated column and its GIN index

    async def check(self) -> None:
        return None  # the database check covers it

    async def index(self, document: SearchDocument) -> None:
        return None  # the tsvector column is generated from the row

    async def delete(self, document_id: UUID) -> None:
        return None

    async def search(self, query: SearchQuery) -> SearchPage:
        async with self.db.transaction() as conn:
            rows, total = await repository.search_fts(
                conn,
                query=query.q,
                tag=query.tag,
                content_type=query.content_type,
                limit=query.limit,
                offset=query.offset,
            )
        return SearchPage(
            hits=[SearchHit(row["id"], render_snippet(row["snippet"] or "")) for row in rows],
            total=total,
        )


def _quote(value: str) -> str:
    """A Meilisearch filter string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class MeilisearchSearch:
    """Meilisearch through its official SDK; the blocking calls run in worker threads."""

    name = "meilisearch"
    SETTINGS: dict[str, Any] = {  # noqa: RUF012 (read-only)
        "searchableAttributes": ["filename", "text", "tags"],
        "filterableAttributes": ["tags", "content_type", "contact_id"],
        "sortableAttributes": ["created_at"],
    }

    def __init__(self, settings: Settings) -> None:
        key = settings.meili_api_key.get_secret_value() if settings.meili_api_key else None
        self.index_uid = settings.meili_index
        self.timeout_ms = int(settings.meili_timeout_seconds * 1000)
        self.retry_after = settings.retry_after_seconds
        self.client = meilisearch.Client(
            settings.meili_url, key, timeout=int(settings.meili_timeout_seconds) or 1
        )

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))
        except MeilisearchApiError as exc:
            raise self._unavailable(f"Meilisearch {exc.code}") from exc
        except (MeilisearchCommunicationError, MeilisearchError, OSError) as exc:
            raise self._unavailable(type(exc).__name__) from exc

    def _unavailable(self, reason: str) -> SearchUnavailableError:
        logger.warning("search unavailable: %s", reason)
        return SearchUnavailableError(reason, retry_after=self.retry_after)

    async def _wait(self, task: Any) -> None:
        """Meilisearch writes are asynchronous tasks; a failed task is a failed write."""
        done = await self._call(
            self.client.wait_for_task, task.task_uid, timeout_in_ms=self.timeout_ms
        )
        if done.status != "succeeded":
            error = (done.error or {}).get("code", done.status)
            raise self._unavailable(f"Meilisearch task {task.task_uid} {error}")

    async def setup(self) -> None:
        index = self.client.index(self.index_uid)
        try:
            await anyio.to_thread.run_sync(index.fetch_info)
        except MeilisearchApiError as exc:
            if exc.code != "index_not_found":
                raise self._unavailable(f"Meilisearch {exc.code}") from exc
            await self._wait(
                await self._call(self.client.create_index, self.index_uid, {"primaryKey": "id"})
            )
        except (MeilisearchCommunicationError, MeilisearchError, OSError) as exc:
            raise self._unavailable(type(exc).__name__) from exc
        await self._wait(await self._call(index.update_settings, self.SETTINGS))

    async def check(self) -> None:
        health = await self._call(self.client.health)
        if health.get("status") != "available":
            raise self._unavailable(f"Meilisearch status {health.get('status')}")

    async def index(self, document: SearchDocument) -> None:
        body = {
            "id": str(document.id),
            "contact_id": str(document.contact_id),
            "filename": document.filename,
            "content_type": document.content_type,
            "tags": document.tags,
            "text": document.text,
            "created_at": document.created_at,
        }
        index = self.client.index(self.index_uid)
        await self._wait(await self._call(index.add_documents, [body], primary_key="id"))

    async def delete(self, document_id: UUID) -> None:
        index = self.client.index(self.index_uid)
        await self._wait(await self._call(index.delete_document, str(document_id)))

    async def search(self, query: SearchQuery) -> SearchPage:
        filters: list[str] = []
        if query.tag is not None:
            filters.append(f"tags = {_quote(query.tag)}")
        if query.content_type is not None:
            filters.append(f"content_type = {_quote(query.content_type)}")
        params: dict[str, Any] = {
            "limit": query.limit,
            "offset": query.offset,
            "filter": filters or None,
            # `_formatted` only holds retrieved (and displayed) attributes, so text must be here.
            "attributesToRetrieve": ["id", "text"],
            "attributesToCrop": ["text"],
            "cropLength": 35,
            "attributesToHighlight": ["text", "filename"],
            "highlightPreTag": HIGHLIGHT_START,
            "highlightPostTag": HIGHLIGHT_END,
        }
        if not query.q:
            params["sort"] = ["created_at:desc"]
        index = self.client.index(self.index_uid)
        result = await self._call(index.search, query.q, params)
        hits = [SearchHit(UUID(hit["id"]), render_snippet(_snippet(hit))) for hit in result["hits"]]
        return SearchPage(hits=hits, total=int(result.get("estimatedTotalHits", len(hits))))


def _snippet(hit: dict[str, Any]) -> str:
    formatted = hit.get("_formatted") or {}
    text = str(formatted.get("text") or "")
    return text[: SNIPPET_CHARS * 2]


class TimedSearch:
    """Records latency and outcome of every search call in `search_request_duration_seconds`."""

    def __init__(self, inner: SearchBackend) -> None:
        self.inner = inner
        self.name = inner.name

    async def _timed(self, operation: str, call: Any) -> Any:
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await call
        except Exception:
            outcome = "error"
            raise
        finally:
            metrics.SEARCH_DURATION.labels(
                backend=self.name, operation=operation, outcome=outcome
            ).observe(time.perf_counter() - started)

    async def setup(self) -> None:
        await self.inner.setup()

    async def check(self) -> None:
        await self.inner.check()

    async def index(self, document: SearchDocument) -> None:
        await self._timed("index", self.inner.index(document))

    async def delete(self, document_id: UUID) -> None:
        await self._timed("delete", self.inner.delete(document_id))

    async def search(self, query: SearchQuery) -> SearchPage:
        page: SearchPage = await self._timed("search", self.inner.search(query))
        return page


def make_search(settings: Settings, db: Database) -> SearchBackend:
    backend: SearchBackend = (
        MeilisearchSearch(settings)
        if settings.search_backend == "meilisearch"
        else PostgresSearch(db)
    )
    return TimedSearch(backend)
