"""The PostgreSQL connection pool: waiting for the database, opening, and units of work."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from app.config import Settings
from app.errors import DatabaseUnavailableError

logger = logging.getLogger(__name__)

Connection = psycopg.AsyncConnection[DictRow]
Pool = AsyncConnectionPool[Connection]


def first_line(exc: BaseException) -> str:
    """The first line of an error: libpq messages carry multi-line hints we do not need."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class DatabaseStartupError(RuntimeError):
    """The database did not answer before the start-up deadline."""


async def wait_for_database(conninfo: str, *, within: float) -> None:
    """Connect until the server answers, backing off; give up after `within` seconds."""
    deadline = time.monotonic() + within
    delay = 0.25
    attempt = 0
    while True:
        attempt += 1
        try:
            conn = await psycopg.AsyncConnection.connect(conninfo)
        except psycopg.OperationalError as exc:
            remaining = deadline - time.monotonic()
            reason = first_line(exc)
            if remaining <= 0:
                raise DatabaseStartupError(
                    f"database not reachable after {attempt} attempts in {within:.0f}s: {reason}"
                ) from exc
            logger.warning(
                "database not ready (attempt %d, retrying in %.2fs): %s", attempt, delay, reason
            )
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, 5.0)
        else:
            await conn.close()
            if attempt > 1:
                logger.info("database reachable after %d attempts", attempt)
            return


async def open_pool(settings: Settings) -> Pool:
    """A pool that hands out only live connections and fails fast when the database is gone."""
    conninfo = settings.database_conninfo
    await wait_for_database(conninfo, within=settings.db_startup_timeout)
    pool: Pool = AsyncConnectionPool(
        conninfo,
        connection_class=psycopg.AsyncConnection[DictRow],
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        timeout=settings.db_pool_timeout,
        # A dead connection (database restarted) is discarded before a request sees it.
        check=AsyncConnectionPool.check_connection,
        kwargs={"row_factory": dict_row},
        open=False,
        name="app",
    )
    await pool.open(wait=True, timeout=settings.db_startup_timeout)
    return pool


@dataclass(frozen=True, slots=True)
class Database:
    """The pool plus what callers need to turn an outage into a clear 503."""

    pool: Pool
    retry_after: int

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One unit of work: commits when the block ends, rolls back on error.

        A missing database (pool timeout, broken connection) becomes a 503 for the client.
        """
        try:
            async with self.pool.connection() as conn:
                yield conn
        except (PoolTimeout, psycopg.OperationalError) as exc:
            logger.warning("database unavailable: %s", first_line(exc))
            raise DatabaseUnavailableError(retry_after=self.retry_after) from exc
