"""SQL for health checks."""

from app.db import Connection


async def ping(conn: Connection) -> None:
    await conn.execute("SELECT 1")


async def current_revision(conn: Connection) -> str | None:
    """The applied Alembic revision, or None before the first migration."""
    cur = await conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL AS present")
    row = await cur.fetchone()
    if row is None or not row["present"]:
        return None
    cur = await conn.execute("SELECT version_num FROM alembic_version")
    row = await cur.fetchone()
    return str(row["version_num"]) if row else None
