"""What a contact submission is and how it is stored and read back."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from app import metrics
from app.contacts import repository
from app.contacts.schemas import Contact, ContactCreate, ContactPage, Source
from app.db import Database
from app.errors import AppError, NotFoundError


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


def _to_contact(row: dict[str, Any]) -> Contact:
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


async def create_contact(db: Database, payload: ContactCreate, *, client: ClientInfo) -> Contact:
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
            name=payload.name,
            email=str(payload.email),
            subject=payload.subject,
            message=payload.message,
            metadata=metadata,
        )
    metrics.CONTACT_SUBMISSIONS.labels(source=client.source).inc()
    return _to_contact(row)


async def get_contact(db: Database, contact_id: UUID) -> Contact:
    async with db.transaction() as conn:
        row = await repository.get_contact(conn, contact_id)
    if row is None:
        raise NotFoundError("contact", contact_id)
    return _to_contact(row)


async def list_contacts(
    db: Database, *, limit: int, tag: str | None, cursor: str | None
) -> ContactPage:
    after = decode_cursor(cursor) if cursor else None
    async with db.transaction() as conn:
        # One extra row tells whether another page exists without a COUNT.
        rows = await repository.list_contacts(conn, limit=limit + 1, tag=tag, after=after)
    items = [_to_contact(row) for row in rows[:limit]]
    next_cursor = (
        encode_cursor(items[-1].created_at, items[-1].id) if len(rows) > limit and items else None
    )
    return ContactPage(items=items, next_cursor=next_cursor)
