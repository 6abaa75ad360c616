"""All SQL for contact submissions."""

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Jsonb

from app.db import Connection

_COLUMN_NAMES = ("id", "name", "email", "subject", "message", "metadata", "created_at")
_COLUMNS = sql.SQL(", ").join(sql.Identifier(name) for name in _COLUMN_NAMES)


async def insert_contact(
    conn: Connection,
    *,
    contact_id: UUID,
    name: str,
    email: str,
    subject: str,
    message: str,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    cur = await conn.execute(
        sql.SQL(
            "INSERT INTO contact_submissions (id, name, email, subject, message, metadata) "
            "VALUES (%(id)s, %(name)s, %(email)s, %(subject)s, %(message)s, %(metadata)s) "
            "RETURNING {columns}"
        ).format(columns=_COLUMNS),
        {
            "id": contact_id,
            "name": name,
            "email": email,
            "subject": subject,
            "message": message,
            "metadata": Jsonb(metadata),
        },
    )
    row = await cur.fetchone()
    assert row is not None  # INSERT ... RETURNING always returns the row
    return row


async def get_contact(conn: Connection, contact_id: UUID) -> dict[str, Any] | None:
    cur = await conn.execute(
        sql.SQL("SELECT {columns} FROM contact_submissions WHERE id = %s").format(columns=_COLUMNS),
        (contact_id,),
    )
    return await cur.fetchone()


def _list_query(*, tag: str | None, after: tuple[datetime, UUID] | None) -> sql.Composed:
    conditions: list[sql.Composable] = []
    if tag is not None:
        # Containment on the whole document is what the jsonb_path_ops GIN index serves.
        conditions.append(sql.SQL("metadata @> %(tag_filter)s"))
    if after is not None:
        conditions.append(sql.SQL("(created_at, id) < (%(after_ts)s, %(after_id)s)"))
    where = sql.SQL("WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")
    return sql.SQL(
        "SELECT {columns} FROM contact_submissions {where} "
        "ORDER BY created_at DESC, id DESC LIMIT %(limit)s"
    ).format(columns=_COLUMNS, where=where)


async def list_contacts(
    conn: Connection,
    *,
    limit: int,
    tag: str | None = None,
    after: tuple[datetime, UUID] | None = None,
) -> list[dict[str, Any]]:
    """Newest first, `limit` rows after the keyset position `after` (created_at, id)."""
    params: dict[str, Any] = {"limit": limit}
    if tag is not None:
        params["tag_filter"] = Jsonb({"tags": [tag]})
    if after is not None:
        params["after_ts"], params["after_id"] = after
    cur = await conn.execute(_list_query(tag=tag, after=after), params)
    return await cur.fetchall()


async def explain_list_contacts(conn: Connection, *, limit: int, tag: str) -> str:
    """The plan PostgreSQL picks for a tag-filtered page (used to prove the GIN index is used)."""
    query = sql.SQL("EXPLAIN ") + _list_query(tag=tag, after=None)
    cur = await conn.execute(query, {"limit": limit, "tag_filter": Jsonb({"tags": [tag]})})
    return "\n".join(str(row["QUERY PLAN"]) for row in await cur.fetchall())


async def notice_source(conn: Connection, contact_id: UUID) -> dict[str, Any] | None:
    """The contact, whether the admin was told already, and its attachment names."""
    cur = await conn.execute(
        sql.SQL(
            "SELECT {columns}, c.notified_at, "
            "coalesce(array_agg(d.filename ORDER BY d.position) "
            "         FILTER (WHERE d.id IS NOT NULL), '{{}}') AS attachment_names "
            "FROM contact_submissions c LEFT JOIN documents d ON d.contact_id = c.id "
            "WHERE c.id = %s GROUP BY c.id"
        ).format(columns=sql.SQL(", ").join(sql.Identifier("c", col) for col in _COLUMN_NAMES)),
        (contact_id,),
    )
    return await cur.fetchone()


async def mark_notified(conn: Connection, contact_id: UUID) -> None:
    await conn.execute(
        "UPDATE contact_submissions SET notified_at = now() WHERE id = %s AND notified_at IS NULL",
        (contact_id,),
    )
