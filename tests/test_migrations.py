"""Migrations: from empty to head, idempotent, safe when replicas race, runnable as a command."""

import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from app.migrate import head_revision, run_migrations
from tests.conftest import REPO, process_env


@pytest.fixture
def empty_database(admin_conninfo: str, worker_id: str) -> Iterator[str]:
    name = f"test_migrations_{worker_id}"
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield make_conninfo(admin_conninfo, dbname=name)
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def schema_state(conninfo: str) -> dict[str, Any]:
    with psycopg.connect(conninfo) as conn:
        version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        indexes = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'contact_submissions'"
        ).fetchall()
    return {"versions": [v[0] for v in version], "indexes": sorted(i[0] for i in indexes)}


EXPECTED_INDEXES = [
    "contact_submissions_pkey",
    "ix_contact_submissions_created_at_id",
    "ix_contact_submissions_metadata",
]


def test_upgrade_from_empty_reaches_head(empty_database: str) -> None:
    run_migrations(empty_database)
    assert schema_state(empty_database) == {
        "versions": [head_revision()],
        "indexes": EXPECTED_INDEXES,
    }


def test_upgrade_is_idempotent(empty_database: str) -> None:
    run_migrations(empty_database)
    first = schema_state(empty_database)
    run_migrations(empty_database)
    assert schema_state(empty_database) == first


def test_concurrent_replicas_serialise_on_the_lock(empty_database: str) -> None:
    errors: list[BaseException] = []

    def migrate() -> None:
        try:
            run_migrations(empty_database)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert schema_state(empty_database)["versions"] == [head_revision()]


def test_migrate_command(empty_database: str) -> None:
    env = process_env(empty_database)
    password = str(conninfo_to_dict(empty_database)["password"])
    result = subprocess.run(
        [sys.executable, "-m", "app.migrate"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert f"database schema at revision {head_revision()}" in result.stdout
    assert password not in result.stdout + result.stderr
    assert schema_state(empty_database)["versions"] == [head_revision()]
