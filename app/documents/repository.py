"""All SQL for documents, including PostgreSQL full-text search."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Jsonb

from app.db import Connection

_COLUMNS = sql.SQL(
    "d.id, d.contact_id, d.filename, d.content_type, d.size_bytes, d.sha256, d.storage_key, "
    "d.processing_status, d.processing_error, d.insights, d.created_at, d.updated_at"
)


async def insert_document(
    conn: Connection,
    *,
    document_id: UUID,
    contact_id: UUID,
    position: int,
    filename: str,
    content_type: str,
    size_bytes: int,
    sha256: str,
    storage_key: str,
) -> dict[str, Any]:
    cur = await conn.execute(
        sql.SQL(
            "INSERT INTO documents AS d "
            "(id, contact_id, position, filename, content_type, size_bytes, sha256, storage_key) "
            "VALUES (%(id)s, %(contact_id)s, %(position)s, %(filename)s, %(content_type)s, "
            "%(size)s, %(sha256)s, %(key)s) RETURNING {columns}"
        ).format(columns=_COLUMNS),
        {
            "id": document_id,
            "contact_id": contact_id,
            "position": position,
            "filename": filename,
            "content_type": content_type,
            "size": size_bytes,
            "sha256": sha256,
            "key": storage_key,
        },
    )
    row = await cur.fetchone()
    assert row is not None
    return row


async def get_document(conn: Connection, document_id: UUID) -> dict[str, Any] | None:
    cur = await conn.execute(
        sql.SQL("SELECT {columns} FROM documents d WHERE d.id = %s").format(columns=_COLUMNS),
        (document_id,),
    )
    return await cur.fetchone()


async def documents_for_contact(conn: Connection, contact_id: UUID) -> list[dict[str, Any]]:
    cur = await conn.execute(
        sql.SQL(
            "SELECT {columns} FROM documents d WHERE d.contact_id = %s ORDER BY d.position, d.id"
        ).format(columns=_COLUMNS),
        (contact_id,),
    )
    return await cur.fetchall()


async def documents_for_contacts(
    conn: Connection, contact_ids: Sequence[UUID]
) -> dict[UUID, list[dict[str, Any]]]:
    cur = await conn.execute(
        sql.SQL(
            "SELECT {columns} FROM documents d WHERE d.contact_id = ANY(%s) "
            "ORDER BY d.position, d.id"
        ).format(columns=_COLUMNS),
        (list(contact_ids),),
    )
    grouped: dict[UUID, list[dict[str, Any]]] = {}
    for row in await cur.fetchall():
        grouped.setdefault(row["contact_id"], []).append(row)
    return grouped


async def documents_by_ids(conn: Connection, ids: Sequence[UUID]) -> dict[UUID, dict[str, Any]]:
    cur = await conn.execute(
        sql.SQL("SELECT {columns} FROM documents d WHERE d.id = ANY(%s)").format(columns=_COLUMNS),
        (list(ids),),
    )
    return {row["id"]: row for row in await cur.fetchall()}


async def search_source(conn: Connection, document_id: UUID) -> dict[str, Any] | None:
    """What a search index needs: the document, its text, and its contact's tags."""
    cur = await conn.execute(
        sql.SQL(
            "SELECT {columns}, d.extracted_text, "
            "coalesce(c.metadata -> 'tags', '[]'::jsonb) AS tags "
            "FROM documents d JOIN contact_submissions c ON c.id = d.contact_id "
            "WHERE d.id = %s"
        ).format(columns=_COLUMNS),
        (document_id,),
    )
    return await cur.fetchone()


async def lock_for_processing(conn: Connection, document_id: UUID) -> dict[str, Any] | None:
    """Row-lock the document and mark it processing, unless it is already finished."""
    cur = await conn.execute(
        sql.SQL(
            "UPDATE documents d SET processing_status = 'processing', updated_at = now() "
            "WHERE d.id = %s AND d.processing_status IN ('pending', 'processing') "
            "RETURNING {columns}"
        ).format(columns=_COLUMNS),
        (document_id,),
    )
    return await cur.fetchone()


async def save_extraction(
    conn: Connection, document_id: UUID, *, text: str, insights: dict[str, Any]
) -> None:
    await conn.execute(
        "UPDATE documents SET processing_status = 'completed', processing_error = NULL, "
        "extracted_text = %(text)s, insights = %(insights)s, updated_at = now() "
        "WHERE id = %(id)s",
        {"id": document_id, "text": text, "insights": Jsonb(insights)},
    )


async def record_processing_error(
    conn: Connection, document_id: UUID, *, error: str, final: bool
) -> None:
    """Keep the reason visible; `final` marks the document failed (no more attempts)."""
    await conn.execute(
        "UPDATE documents SET processing_error = %(error)s, updated_at = now(), "
        "processing_status = CASE WHEN %(final)s THEN 'failed' ELSE 'pending' END "
        "WHERE id = %(id)s AND processing_status <> 'completed'",
        {"id": document_id, "error": error, "final": final},
    )


async def storage_key_in_use(conn: Connection, storage_key: str) -> bool:
    cur = await conn.execute("SELECT 1 FROM documents WHERE storage_key = %s", (storage_key,))
    return await cur.fetchone() is not None


async def status_counts(conn: Connection) -> dict[str, int]:
    cur = await conn.execute(
        "SELECT processing_status, count(*) AS n FROM documents GROUP BY processing_status"
    )
    return {row["processing_status"]: int(row["n"]) for row in await cur.fetchall()}


# Private-use code points mark highlights; the service escapes the text, then turns them into
# <mark> tags, so document text can never inject markup.
HIGHLIGHT_START = "\ue000"
HIGHLIGHT_END = "\ue001"


async def search_fts(
    conn: Connection,
    *,
    query: str,
    tag: str | None,
    content_type: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """Ranked matches with highlighted fragments, and the total number of matches."""
    conditions: list[sql.Composable] = []
    if query:
        conditions.append(sql.SQL("d.search_vector @@ q.query"))
    if tag is not None:
        conditions.append(sql.SQL("c.metadata @> %(tag_filter)s"))
    if content_type is not None:
        conditions.append(sql.SQL("d.content_type = %(content_type)s"))
    where = sql.SQL("WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")
    order = (
        sql.SQL("ts_rank(d.search_vector, q.query) DESC, d.created_at DESC, d.id DESC")
        if query
        else sql.SQL("d.created_at DESC, d.id DESC")
    )
    cur = await conn.execute(
        sql.SQL(
            "SELECT d.id, count(*) OVER () AS total, "
            "ts_headline('english', coalesce(d.extracted_text, ''), q.query, "
            "  %(headline_options)s) AS snippet "
            "FROM documents d JOIN contact_submissions c ON c.id = d.contact_id, "
            "websearch_to_tsquery('english', %(query)s) AS q(query) "
            "{where} ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s"
        ).format(where=where, order=order),
        {
            "query": query,
            "tag_filter": Jsonb({"tags": [tag]}),
            "content_type": content_type,
            "limit": limit,
            "offset": offset,
            "headline_options": (
                f"StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_END}, "
                'MaxWords=35, MinWords=15, MaxFragments=2, FragmentDelimiter=" … "'
            ),
        },
    )
    rows = await cur.fetchall()
    total = int(rows[0]["total"]) if rows else 0
    if not rows and offset:
        # Past the last page: count separately so the client still learns the total.
        count = await conn.execute(
            sql.SQL(
                "SELECT count(*) AS total FROM documents d "
                "JOIN contact_submissions c ON c.id = d.contact_id, "
                "websearch_to_tsquery('english', %(query)s) AS q(query) {where}"
            ).format(where=where),
            {"query": query, "tag_filter": Jsonb({"tags": [tag]}), "content_type": content_type},
        )
        counted = await count.fetchone()
        total = int(counted["total"]) if counted else 0
    return rows, total
