"""Attachments: stream into storage with checks on the way, read back, search."""

import hashlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from app import metrics
from app.db import Connection, Database
from app.documents import repository
from app.documents.schemas import Document, SearchHit, SearchResults
from app.documents.sniff import (
    SNIFF_BYTES,
    detect_content_type,
    extension_matches,
    sanitize_filename,
)
from app.documents.tasks import DELETE_ORPHAN_OBJECT, INDEX_DOCUMENT, PROCESS_DOCUMENT
from app.errors import AppError, NotFoundError, PayloadTooLargeError
from app.jobs import repository as jobs_repository
from app.jobs.service import enqueue
from app.resources import Resources
from app.search import SearchQuery
from app.storage import ObjectNotFoundError

logger = logging.getLogger(__name__)


class AttachmentError(AppError):
    """A file the API will not take; `details` names the file."""

    def __init__(self, status: int, code: str, message: str, filename: str) -> None:
        super().__init__(status, code, message, details={"field": "files", "filename": filename})


class UploadTooSlowError(AppError):
    def __init__(self) -> None:
        super().__init__(
            408, "upload_timeout", "the upload took longer than the server keeps partial files"
        )


@dataclass(frozen=True, slots=True)
class StoredUpload:
    """A file already in storage whose rows are not committed yet."""

    document_id: UUID
    storage_key: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    cleanup_job_id: int


def storage_key(contact_id: UUID, document_id: UUID) -> str:
    return f"documents/{contact_id}/{document_id}"


async def _head_and_rest(
    chunks: AsyncIterator[bytes],
) -> tuple[bytes, AsyncIterator[bytes]]:
    """The first SNIFF_BYTES (or the whole file if shorter), and an iterator over the rest."""
    head = bytearray()
    exhausted = False
    while len(head) < SNIFF_BYTES:
        try:
            head += await anext(chunks)
        except StopAsyncIteration:
            exhausted = True
            break

    async def rest() -> AsyncIterator[bytes]:
        if not exhausted:
            async for chunk in chunks:
                yield chunk

    return bytes(head), rest()


async def store_upload(
    resources: Resources,
    *,
    contact_id: UUID,
    raw_filename: str | None,
    chunks: AsyncIterator[bytes],
) -> StoredUpload:
    """Check the file's type from its bytes, then stream it to storage, sizing and hashing.

    A cleanup job is committed first: if the contact never commits (crash, outage, bad form),
    that job removes the object once the grace period is over.
    """
    settings = resources.settings
    filename = sanitize_filename(raw_filename)
    head, rest = await _head_and_rest(chunks)
    if not head:
        metrics.UPLOADS.labels(outcome="rejected").inc()
        raise AttachmentError(422, "empty_file", f"{filename} is empty", filename)
    content_type = detect_content_type(head, filename)
    if content_type is None:
        metrics.UPLOADS.labels(outcome="rejected").inc()
        raise AttachmentError(
            415, "unsupported_file_type", f"{filename}: this type of file is not accepted", filename
        )
    if not extension_matches(filename, content_type):
        metrics.UPLOADS.labels(outcome="rejected").inc()
        raise AttachmentError(
            415,
            "file_type_mismatch",
            f"{filename}: the name says one type, the content is {content_type}",
            filename,
        )

    document_id = uuid4()
    key = storage_key(contact_id, document_id)
    grace = timedelta(seconds=settings.upload_orphan_grace_seconds)
    async with resources.db.transaction() as conn:
        cleanup_job_id = await enqueue(
            conn, DELETE_ORPHAN_OBJECT, {"storage_key": key}, delay=grace
        )

    digest = hashlib.sha256()
    size = 0
    limit = settings.max_upload_bytes

    async def measured() -> AsyncIterator[bytes]:
        """Counts and hashes on the way; crossing the limit aborts the upload at once."""
        nonlocal size
        pending: AsyncIterator[bytes] = rest
        chunk = head
        while True:
            size += len(chunk)
            if size > limit:
                raise PayloadTooLargeError(limit)
            digest.update(chunk)
            yield chunk
            try:
                chunk = await anext(pending)
            except StopAsyncIteration:
                return

    started = time.perf_counter()
    try:
        await resources.storage.put(key, measured(), content_type=content_type)
    except Exception:
        metrics.UPLOADS.labels(outcome="failed").inc()
        raise
    metrics.UPLOAD_DURATION.labels(backend=resources.storage.name).observe(
        time.perf_counter() - started
    )
    metrics.UPLOAD_BYTES.labels(backend=resources.storage.name).inc(size)
    metrics.UPLOADS.labels(outcome="stored").inc()
    return StoredUpload(
        document_id=document_id,
        storage_key=key,
        filename=filename,
        content_type=content_type,
        size_bytes=size,
        sha256=digest.hexdigest(),
        cleanup_job_id=cleanup_job_id,
    )


async def discard_uploads(resources: Resources, uploads: list[StoredUpload]) -> None:
    """Best effort after a failed request: delete now what the cleanup jobs would delete later."""
    removed: list[int] = []
    for upload in uploads:
        try:
            await resources.storage.delete(upload.storage_key)
        except Exception:
            logger.warning("could not remove %s now; its cleanup job will", upload.storage_key)
        else:
            removed.append(upload.cleanup_job_id)
    if removed:
        try:
            async with resources.db.transaction() as conn:
                await jobs_repository.cancel_pending(conn, removed)
        except Exception:
            logger.warning("could not cancel cleanup jobs %s; they will find nothing", removed)


async def commit_uploads(
    conn: Connection, contact_id: UUID, uploads: list[StoredUpload]
) -> list[dict[str, Any]]:
    """Insert the document rows and their follow-up jobs in the contact's transaction."""
    if uploads:
        cancelled = await jobs_repository.cancel_pending(conn, [u.cleanup_job_id for u in uploads])
        if cancelled != len(uploads):
            # A cleanup job already ran: this upload outlived the grace period.
            raise UploadTooSlowError
    rows = []
    for position, upload in enumerate(uploads):
        rows.append(
            await repository.insert_document(
                conn,
                document_id=upload.document_id,
                contact_id=contact_id,
                position=position,
                filename=upload.filename,
                content_type=upload.content_type,
                size_bytes=upload.size_bytes,
                sha256=upload.sha256,
                storage_key=upload.storage_key,
            )
        )
        payload = {"document_id": str(upload.document_id)}
        await enqueue(conn, INDEX_DOCUMENT, payload)  # findable by name before processing ends
        await enqueue(conn, PROCESS_DOCUMENT, payload)
    return rows


def to_document(row: dict[str, Any]) -> Document:
    return Document(
        id=row["id"],
        contact_id=row["contact_id"],
        filename=row["filename"],
        content_type=row["content_type"],
        size_bytes=row["size_bytes"],
        sha256=row["sha256"],
        processing_status=row["processing_status"],
        processing_error=row["processing_error"],
        insights=row["insights"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        download_url=f"/api/documents/{row['id']}/download",
    )


async def get_document(db: Database, document_id: UUID) -> Document:
    async with db.transaction() as conn:
        row = await repository.get_document(conn, document_id)
    if row is None:
        raise NotFoundError("document", document_id)
    return to_document(row)


@dataclass(frozen=True, slots=True)
class Download:
    document: Document
    chunks: AsyncIterator[bytes]


async def open_download(resources: Resources, document_id: UUID) -> Download:
    """The document and its bytes; the first chunk is read here so a missing object is a 404."""
    async with resources.db.transaction() as conn:
        row = await repository.get_document(conn, document_id)
    if row is None:
        raise NotFoundError("document", document_id)
    document = to_document(row)
    stream = resources.storage.get(row["storage_key"])
    try:
        first = await anext(stream, b"")
    except ObjectNotFoundError as exc:
        logger.error("document %s has no object %s", document_id, row["storage_key"])
        raise NotFoundError("document content", document_id) from exc

    async def chunks() -> AsyncIterator[bytes]:
        if first:
            yield first
        async for chunk in stream:
            yield chunk

    return Download(document=document, chunks=chunks())


async def search_documents(resources: Resources, query: SearchQuery) -> SearchResults:
    page = await resources.search.search(query)
    async with resources.db.transaction() as conn:
        rows = await repository.documents_by_ids(conn, [hit.id for hit in page.hits])
    # The index can lag behind deletions; the database decides what exists.
    hits = [
        SearchHit(document=to_document(rows[hit.id]), snippet=hit.snippet)
        for hit in page.hits
        if hit.id in rows
    ]
    return SearchResults(
        query=query.q,
        backend=resources.search.name,
        total=page.total,
        limit=query.limit,
        offset=query.offset,
        hits=hits,
    )
