"""Background work on documents: extract text and insights, index for search, remove orphans.

Every handler is idempotent: the queue delivers at least once.
"""

import logging
import tempfile
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import anyio.to_thread

from app import metrics
from app.documents import repository
from app.documents.extraction import Extraction, extract
from app.jobs.service import Task, enqueue
from app.resources import Resources
from app.search import SearchDocument
from app.storage import ObjectNotFoundError

logger = logging.getLogger(__name__)

SPOOL_BYTES = 8 * 1024 * 1024  # processing reads small files in memory, larger ones from disk


async def _process_document(resources: Resources, payload: dict[str, Any]) -> None:
    document_id = UUID(payload["document_id"])
    async with resources.db.transaction() as conn:
        document = await repository.lock_for_processing(conn, document_id)
    if document is None:
        return  # gone, or already completed/failed by an earlier delivery
    try:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            async for chunk in resources.storage.get(document["storage_key"]):
                spool.write(chunk)
            spool.seek(0)
            result: Extraction = await anyio.to_thread.run_sync(
                extract, spool, document["content_type"]
            )
    except ObjectNotFoundError as exc:
        raise RuntimeError(f"object {document['storage_key']} is missing") from exc
    except Exception as exc:
        async with resources.db.transaction() as conn:
            await repository.record_processing_error(
                conn, document_id, error=str(exc)[:1000] or type(exc).__name__, final=False
            )
        raise
    async with resources.db.transaction() as conn:
        await repository.save_extraction(
            conn, document_id, text=result.text, insights=result.insights
        )
        await enqueue(conn, INDEX_DOCUMENT, {"document_id": str(document_id)})
    metrics.DOCUMENTS_PROCESSED.labels(result="completed").inc()


async def _processing_gave_up(resources: Resources, payload: dict[str, Any], error: str) -> None:
    async with resources.db.transaction() as conn:
        await repository.record_processing_error(
            conn, UUID(payload["document_id"]), error=error, final=True
        )
    metrics.DOCUMENTS_PROCESSED.labels(result="failed").inc()


async def _index_document(resources: Resources, payload: dict[str, Any]) -> None:
    document_id = UUID(payload["document_id"])
    async with resources.db.transaction() as conn:
        row = await repository.search_source(conn, document_id)
    if row is None:
        await resources.search.delete(document_id)
        return
    created: datetime = row["created_at"]
    await resources.search.index(
        SearchDocument(
            id=row["id"],
            contact_id=row["contact_id"],
            filename=row["filename"],
            content_type=row["content_type"],
            tags=list(row["tags"]),
            text=row["extracted_text"] or "",
            created_at=created.astimezone(UTC).timestamp(),
        )
    )


async def _delete_orphan_object(resources: Resources, payload: dict[str, Any]) -> None:
    """An upload whose rows never committed (crash, outage, rejected form) is removed."""
    key = str(payload["storage_key"])
    async with resources.db.transaction() as conn:
        if await repository.storage_key_in_use(conn, key):
            return
    await resources.storage.delete(key)
    logger.info("removed orphaned object %s", key)


PROCESS_DOCUMENT = Task(
    "process_document", _process_document, max_attempts=4, on_dead=_processing_gave_up
)
# Outages of the search engine or the object store can last hours: keep trying for that long.
INDEX_DOCUMENT = Task("index_document", _index_document, max_attempts=25)
DELETE_ORPHAN_OBJECT = Task("delete_orphan_object", _delete_orphan_object, max_attempts=25)

TASKS = (PROCESS_DOCUMENT, INDEX_DOCUMENT, DELETE_ORPHAN_OBJECT)
