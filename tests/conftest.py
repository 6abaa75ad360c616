"""Fixtures: a real PostgreSQL per test worker, the app on it, and a clean state per test.

`TEST_DATABASE_URL` points the suite at an existing server instead of an embedded one; each
worker then creates (and drops) its own database there.
"""

import os
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from http.server import HTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from app.config import Settings
from app.main import create_app
from app.migrate import run_migrations
from devstack.postgres import EmbeddedPostgres, free_port
from devstack.seaweedfs import EmbeddedSeaweedFS

REPO = Path(__file__).resolve().parent.parent
NO_SKIP = os.environ.get("NO_SKIP") == "1"
TEST_PASSWORD = "t3st p@ss:w#rd!'\"\\"  # every character that breaks naive URL building


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Under NO_SKIP=1 (CI) a skipped test is a failed test: nothing may silently not run."""
    report = yield
    if NO_SKIP and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped under NO_SKIP=1: {reason}"
    return report


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def start_embedded_postgres(**kwargs: Any) -> tuple[EmbeddedPostgres, Path]:
    """A throw-away server in a fresh temporary folder (never `.data/`)."""
    base = Path(tempfile.mkdtemp(prefix="pytest-pg-"))
    server = EmbeddedPostgres(
        base / "data",
        port=free_port(),
        user="tester",
        password=TEST_PASSWORD,
        database="postgres",
        durable=False,
        **kwargs,
    )
    server.start()
    return server, base


@pytest.fixture(scope="session")
def admin_conninfo() -> Iterator[str]:
    """A superuser connection to a server this worker may create databases on."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield make_conninfo(url)
        return
    server, base = start_embedded_postgres()
    try:
        yield server.conninfo()
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def database_conninfo(admin_conninfo: str, worker_id: str) -> Iterator[str]:
    """A database of this worker's own, migrated to head."""
    name = f"test_{worker_id}_{os.getpid()}"
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conninfo = make_conninfo(admin_conninfo, dbname=name)
    run_migrations(conninfo)
    try:
        yield conninfo
    finally:
        with psycopg.connect(admin_conninfo, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def db(database_conninfo: str) -> Iterator[psycopg.Connection[Any]]:
    """A direct connection for assertions on rows. The tables are emptied before each test and
    after it: tests without this fixture (the edge's, through a real API process) leave rows."""
    empty = "TRUNCATE contact_submissions, documents, jobs"
    with psycopg.connect(database_conninfo, autocommit=True) as conn:
        conn.execute(empty)
        yield conn
        conn.execute(empty)


def process_env(conninfo: str, **values: str) -> dict[str, str]:
    """A clean environment for an app process (migrate, worker, uvicorn) on this database.

    The in-app worker is off: these databases are shared by a test worker's tests, and a
    background worker in a long-lived process would take other tests' jobs.
    """
    params = conninfo_to_dict(conninfo)
    return {
        "PATH": os.environ["PATH"],
        "WORKER_IN_APP": "false",
        "DB_HOST": str(params["host"]),
        "DB_PORT": str(params["port"]),
        "DB_USER": str(params["user"]),
        "DB_PASSWORD": str(params["password"]),
        "DB_NAME": str(params["dbname"]),
        "DB_SSLMODE": "disable",
        **values,
    }


def make_settings(conninfo: str, **overrides: Any) -> Settings:
    params = conninfo_to_dict(conninfo)
    values: dict[str, Any] = {
        "db_host": params["host"],
        "db_port": params["port"],
        "db_user": params["user"],
        "db_password": params["password"],
        "db_name": params["dbname"],
        "db_sslmode": "disable",
        "db_pool_min_size": 1,
        "db_pool_max_size": 4,
        "db_startup_timeout": 10,
        "log_format": "console",
        # Tests run the worker themselves (Worker.drain) so they can see each step.
        "worker_in_app": False,
        "job_retry_base_seconds": 0.01,
        "job_retry_max_seconds": 0.05,
        "storage_backend": "filesystem",
        "storage_dir": Path(tempfile.mkdtemp(prefix="pytest-objects-")),
        "search_backend": "postgres",
        "notify_backend": "log",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(database_conninfo: str, db: psycopg.Connection[Any]) -> Settings:
    return make_settings(database_conninfo)


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with its lifespan started, behind an in-process HTTP client."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield app, http


@pytest.fixture
async def app_client(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app(settings) as pair:
        yield pair


@pytest.fixture
def client(app_client: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return app_client[1]


@pytest.fixture
def contact_json() -> dict[str, Any]:
    return {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "subject": "Engine question",
        "message": "Could the engine compose music?\nRegards, Ada",
        "tags": ["sales"],
        "metadata": {"campaign": "autumn"},
    }


def metric_value(exposition: str, name: str, **labels: str) -> float:
    """A sample from Prometheus text output, summed over every series with the labels given
    (0 when none exists yet): `method="POST"` alone counts requests of any route and status."""
    return sum(
        float(sample.value)
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


@contextmanager
def serving(server: HTTPServer) -> Iterator[str]:
    """Serves `server` from a background thread; yields its http://host:port, stops it after."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


S3_ACCESS_KEY = "test-access-key"
S3_SECRET_KEY = "test-secret-key-0123456789"


@contextmanager
def seaweedfs_server() -> Iterator[EmbeddedSeaweedFS]:
    """A real S3 server (SeaweedFS `weed mini`) in a fresh temporary folder, removed after."""
    base = Path(tempfile.mkdtemp(prefix="pytest-s3-"))
    server = EmbeddedSeaweedFS(
        base / "data", s3_port=free_port(), access_key=S3_ACCESS_KEY, secret_key=S3_SECRET_KEY
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def seaweedfs() -> Iterator[EmbeddedSeaweedFS]:
    """One S3 server per test worker; tests use buckets of their own."""
    with seaweedfs_server() as server:
        yield server


@pytest.fixture
def own_seaweedfs() -> Iterator[EmbeddedSeaweedFS]:
    """A server this test may stop and start without disturbing others."""
    with seaweedfs_server() as server:
        yield server


def s3_settings(server: EmbeddedSeaweedFS, bucket: str, **overrides: Any) -> dict[str, Any]:
    return {
        "storage_backend": "s3",
        "s3_endpoint": server.endpoint,
        "s3_access_key": S3_ACCESS_KEY,
        "s3_secret_key": S3_SECRET_KEY,
        "s3_bucket": bucket,
        **overrides,
    }


@pytest.fixture
def server_dir() -> Iterator[Path]:
    """A scratch folder for servers that drop root (PostgreSQL runs as `pgserver`).

    Not under pytest's tmp_path: pytest keeps its base folder private (0700, re-applied by
    every xdist worker), which the server's user could not traverse.
    """
    path = Path(tempfile.mkdtemp(prefix="pytest-servers-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
