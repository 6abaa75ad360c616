"""What a contact submission is, how it is stored (with its attachments) and read back."""

import base64
import binascii
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import anyio

from app import metrics
from app.contacts import repository
from app.contacts.schemas import Contact, ContactCreate, ContactPage, Source, form_payload
from app.contacts.tasks import NOTIFY_ADMIN
from app.db import Database
from app.documents import repository as documents_repository
from app.documents import service as documents
from app.documents.service import StoredUpload
from app.errors import AppError, NotFoundError
from app.jobs.service import enqueue
from app.multipart import Part
from app.resources import Resources

logger = logging.getLogger(__name__)

ATTACHMENT_FIELD = "files"


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Who sent the request, as seen through the proxy."""

    source: Source
    ip: str | None
    user_agent: str | None


class InvalidCursorError(AppError):
    def __init__(self) -> None:
        super().__init__(
            422,
            "validation_error",
            "invalid input: cursor",
            details=[
                {"field": "cursor", "message": "not a cursor from this API", "type": "cursor"}
            ],
        )


class TooManyAttachmentsError(AppError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            422,
            "too_many_attachments",
            f"at most {limit} files may be attached",
            details=[
                {"field": ATTACHMENT_FIELD, "message": f"at most {limit} files", "type": "too_long"}
            ],
        )


def _to_contact(row: dict[str, Any], documents_rows: list[dict[str, Any]] | None = None) -> Contact:
    metadata = row["metadata"]
    return Contact(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        subject=row["subject"],
        message=row["message"],
        tags=metadata.get("tags", []),
        source=metadata.get("source", "api"),
        metadata=metadata,
        created_at=row["created_at"],
        attachments=[documents.to_document(d) for d in documents_rows or []],
    )


def encode_cursor(created_at: datetime, contact_id: UUID) -> str:
    raw = json.dumps({"t": created_at.isoformat(), "id": str(contact_id)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        created_at = datetime.fromisoformat(data["t"])
        if created_at.tzinfo is None:
            raise ValueError("naive timestamp")
        return created_at, UUID(data["id"])
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidCursorError from exc


async def create_contact(
    db: Database,
    payload: ContactCreate,
    *,
    client: ClientInfo,
    contact_id: UUID | None = None,
    uploads: list[StoredUpload] | None = None,
) -> Contact:
    """Rows, attachments and every follow-up job in one transaction: all or nothing."""
    contact_id = contact_id or uuid4()
    metadata: dict[str, Any] = {
        "source": client.source,
        "user_agent": client.user_agent,
        "client_ip": client.ip,
        "tags": payload.tags,
        "custom": payload.metadata,
    }
    async with db.transaction() as conn:
        row = await repository.insert_contact(
            conn,
            contact_id=contact_id,
            name=payload.name,
            email=str(payload.email),
            subject=payload.subject,
            message=payload.message,
            metadata=metadata,
        )
        document_rows = await documents.commit_uploads(
            conn, contact_id=contact_id, uploads=uploads or []
        )
        await enqueue(conn, NOTIFY_ADMIN, {"contact_id": str(contact_id)})
    metrics.CONTACT_SUBMISSIONS.labels(source=client.source).inc()
    return _to_contact(row, document_rows)


async def create_contact_with_attachments(
    resources: Resources, parts: AsyncIterator[Part], *, client: ClientInfo
) -> Contact:
    """A multipart submission: files stream to storage as they arrive, then one commit.

    Any failure (a bad field, a refused file, storage or database down) removes what was
    uploaded; if even that fails, the committed cleanup jobs remove it later.
    """
    settings = resources.settings
    contact_id = uuid4()
    fields: dict[str, list[str]] = {}
    uploads: list[StoredUpload] = []
    try:
        async for part in parts:
            if part.filename is None:
                fields.setdefault(part.name, []).append(await part.text())
            elif part.name == ATTACHMENT_FIELD and part.filename:
                if len(uploads) >= settings.max_attachments:
                    raise TooManyAttachmentsError(settings.max_attachments)
                uploads.append(
                    await documents.store_upload(
                        resources,
                        contact_id=contact_id,
                        raw_filename=part.filename,
                        chunks=part.chunks(),
                    )
                )
            # Other file fields, and empty file inputs (filename=""), are skipped unread.
        payload = ContactCreate.model_validate(form_payload(fields))
        return await create_contact(
            resources.db, payload, client=client, contact_id=contact_id, uploads=uploads
        )
    except BaseException:
        if uploads:
            with anyio.CancelScope(shield=True):
                await documents.discard_uploads(resources, uploads)
        raise


async def get_contact(db: Database, contact_id: UUID) -> Contact:
    async with db.transaction() as conn:
        row = await repository.get_contact(conn, contact_id)
        attachments = await documents_repository.documents_for_contact(conn, contact_id)
    if row is None:
        raise NotFoundError("contact", contact_id)
    return _to_contact(row, attachments)


async def list_contacts(
    db: Database, *, limit: int, tag: str | None, cursor: str | None
) -> ContactPage:
    after = decode_cursor(cursor) if cursor else None
    async with db.transaction() as conn:
        # One extra row tells whether another page exists without a COUNT.
        rows = await repository.list_contacts(conn, limit=limit + 1, tag=tag, after=after)
        attachments = await documents_repository.documents_for_contacts(
            conn, [row["id"] for row in rows[:limit]]
        )
    items = [_to_contact(row, attachments.get(row["id"], [])) for row in rows[:limit]]
    next_cursor = (
        encode_cursor(items[-1].created_at, items[-1].id) if len(rows) > limit and items else None
    )
    return ContactPage(items=items, next_cursor=next_cursor)
