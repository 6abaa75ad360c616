"""`python -m app.migrate`: wait for the database, take the migration lock, upgrade to head.

Safe to run from every replica at once: the advisory lock serialises them and the second
finds nothing to do.
"""

import asyncio
import logging
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, NullPool, create_engine, text

from app.config import load_settings
from app.db import wait_for_database
from app.logs import configure_logging

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant shared by every replica; chosen once, never changed.
MIGRATION_LOCK_KEY = 4_205_110_001


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def engine_for(conninfo: str) -> Engine:
    # The conninfo goes to psycopg untouched, so no URL escaping can mangle a password.
    return create_engine(
        "postgresql+psycopg://", creator=lambda: psycopg.connect(conninfo), poolclass=NullPool
    )


def run_migrations(conninfo: str) -> None:
    """Upgrade to head under a session advisory lock. Idempotent."""
    with engine_for(conninfo).connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        conn.commit()
        try:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            conn.commit()
    logger.info("database schema at revision %s", head_revision())


def main() -> None:
    settings = load_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format, service="migrate")
    conninfo = settings.database_conninfo
    asyncio.run(wait_for_database(conninfo, within=settings.db_startup_timeout))
    run_migrations(conninfo)


if __name__ == "__main__":
    main()
