"""All SQL for the job queue: a table drained with FOR UPDATE SKIP LOCKED.

Jobs are enqueued on the caller's connection, inside the caller's transaction: the work exists
exactly when the rows it is about exist.
"""

from datetime import timedelta
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from app.db import Connection

_COLUMNS = sql.SQL(
    "id, task, payload, status, attempts, max_attempts, run_at, locked_until, last_error, "
    "created_at, updated_at, finished_at"
)


async def enqueue(
    conn: Connection,
    *,
    task: str,
    payload: dict[str, Any],
    max_attempts: int,
    delay: timedelta = timedelta(0),
) -> int:
    cur = await conn.execute(
        "INSERT INTO jobs (task, payload, max_attempts, run_at) "
        "VALUES (%(task)s, %(payload)s, %(max_attempts)s, now() + %(delay)s) RETURNING id",
        {"task": task, "payload": Jsonb(payload), "max_attempts": max_attempts, "delay": delay},
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row["id"])


async def cancel_pending(conn: Connection, job_ids: list[int]) -> int:
    """Delete jobs that no worker has claimed yet; returns how many were still pending."""
    cur = await conn.execute(
        "DELETE FROM jobs WHERE id = ANY(%s) AND status = 'pending'", (job_ids,)
    )
    return cur.rowcount


async def claim(conn: Connection, *, lease: timedelta) -> dict[str, Any] | None:
    """Take the next due job: pending and due, or running with an expired lease (a dead worker)."""
    cur = await conn.execute(
        sql.SQL(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, "
            "locked_until = now() + %(lease)s, updated_at = now() "
            "WHERE id = ("
            "  SELECT id FROM jobs"
            "  WHERE (status = 'pending' AND run_at <= now())"
            "     OR (status = 'running' AND locked_until < now())"
            "  ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED"
            ") RETURNING {columns}"
        ).format(columns=_COLUMNS),
        {"lease": lease},
    )
    return await cur.fetchone()


async def complete(conn: Connection, job_id: int) -> None:
    await conn.execute(
        "UPDATE jobs SET status = 'done', locked_until = NULL, finished_at = now(), "
        "updated_at = now() WHERE id = %s",
        (job_id,),
    )


async def retry_later(conn: Connection, job_id: int, *, error: str, delay: timedelta) -> None:
    await conn.execute(
        "UPDATE jobs SET status = 'pending', run_at = now() + %(delay)s, locked_until = NULL, "
        "last_error = %(error)s, updated_at = now() WHERE id = %(id)s",
        {"id": job_id, "delay": delay, "error": error},
    )


async def bury(conn: Connection, job_id: int, *, error: str) -> None:
    """Dead-letter: no more automatic attempts; visible in the API and metrics."""
    await conn.execute(
        "UPDATE jobs SET status = 'dead', locked_until = NULL, last_error = %(error)s, "
        "finished_at = now(), updated_at = now() WHERE id = %(id)s",
        {"id": job_id, "error": error},
    )


async def requeue(conn: Connection, job_id: int) -> dict[str, Any] | None:
    """Give a dead job a fresh set of attempts, due now."""
    cur = await conn.execute(
        sql.SQL(
            "UPDATE jobs SET status = 'pending', attempts = 0, run_at = now(), "
            "finished_at = NULL, updated_at = now() "
            "WHERE id = %s AND status = 'dead' RETURNING {columns}"
        ).format(columns=_COLUMNS),
        (job_id,),
    )
    return await cur.fetchone()


async def get_job(conn: Connection, job_id: int) -> dict[str, Any] | None:
    cur = await conn.execute(
        sql.SQL("SELECT {columns} FROM jobs WHERE id = %s").format(columns=_COLUMNS), (job_id,)
    )
    return await cur.fetchone()


async def list_jobs(
    conn: Connection, *, status: str | None, task: str | None, limit: int
) -> list[dict[str, Any]]:
    conditions: list[sql.Composable] = []
    if status is not None:
        conditions.append(sql.SQL("status = %(status)s"))
    if task is not None:
        conditions.append(sql.SQL("task = %(task)s"))
    where = sql.SQL("WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")
    cur = await conn.execute(
        sql.SQL("SELECT {columns} FROM jobs {where} ORDER BY id DESC LIMIT %(limit)s").format(
            columns=_COLUMNS, where=where
        ),
        {"status": status, "task": task, "limit": limit},
    )
    return await cur.fetchall()


async def queue_stats(conn: Connection) -> list[dict[str, Any]]:
    """Per task and status: count, and for pending jobs the age of the oldest due one."""
    cur = await conn.execute(
        "SELECT task, status, count(*) AS jobs, "
        "coalesce(extract(epoch FROM now() - "
        "  min(run_at) FILTER (WHERE status = 'pending' AND run_at <= now())), 0) "
        "  AS oldest_due_seconds "
        "FROM jobs WHERE status <> 'done' GROUP BY task, status"
    )
    return await cur.fetchall()


async def purge_done(conn: Connection, *, older_than: timedelta) -> int:
    cur = await conn.execute(
        "DELETE FROM jobs WHERE status = 'done' AND finished_at < now() - %s", (older_than,)
    )
    return cur.rowcount
