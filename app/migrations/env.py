"""Alembic environment: the connection `app.migrate` hands over, or one opened from Settings."""

from alembic import context
from sqlalchemy import Connection

from app.migrate import engine_for


def _run(connection: Connection) -> None:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from app.config import load_settings

    with engine_for(load_settings().database_conninfo).connect() as fresh:
        _run(fresh)
        fresh.commit()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `python -m app.migrate`")
run_online()
