"""`python -m devstack` (what `make run` calls): the stack on real parts, without Docker.

PostgreSQL from the pgserver wheel (unless DATABASE_URL is set), SeaweedFS as the S3 store
(unless STORAGE_BACKEND is set), migrations, the API (with its in-process worker) under uvicorn,
and Caddy in front with the same Caddyfile compose uses: website, API and docs on
http://127.0.0.1:8080. Ctrl-C stops everything it started. Data stays in `.data/`.
"""

import os
import shutil
import sys
from pathlib import Path

from dotenv import load_dotenv

from app.config import load_settings
from devstack.caddy import CADDYFILE, caddy_binary, caddy_env
from devstack.postgres import EmbeddedPostgres
from devstack.seaweedfs import EmbeddedSeaweedFS
from devstack.supervisor import Service, Supervisor, http_ok, log

REPO = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def main() -> int:
    # .env configures devstack's own knobs too; real environment variables win.
    load_dotenv(REPO / ".env", override=False)
    data_dir = Path(_env("DEVSTACK_DATA_DIR", str(REPO / ".data"))).resolve()
    api_port = int(_env("API_PORT", "8000"))
    workers = _env("WEB_CONCURRENCY", "1")
    data_dir.mkdir(parents=True, exist_ok=True)

    # The same settings the app reads (environment, .env, *_FILE), so credentials agree.
    settings = load_settings()
    child_env: dict[str, str] = {"PYTHONPATH": str(REPO)}
    postgres: EmbeddedPostgres | None = None
    if settings.database_url is None:
        postgres = EmbeddedPostgres(
            data_dir / "postgres",
            port=int(_env("DEVSTACK_PG_PORT", "55432")),
            user=settings.db_user,
            password=settings.db_password.get_secret_value(),
            database=settings.db_name,
        )
        child_env |= {
            "DB_HOST": "127.0.0.1",
            "DB_PORT": str(postgres.port),
            "DB_SSLMODE": "disable",
        }

    seaweedfs: EmbeddedSeaweedFS | None = None
    if not os.environ.get("STORAGE_BACKEND"):
        seaweedfs = EmbeddedSeaweedFS(
            data_dir / "seaweedfs",
            s3_port=int(_env("DEVSTACK_S3_PORT", "8333")),
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
        )
        child_env |= {
            "STORAGE_BACKEND": "s3",
            "S3_ENDPOINT": seaweedfs.endpoint,
            "S3_SECURE": "false",
        }

    # Several uvicorn workers share metrics through files; stale files from a crash are wrong.
    metrics_dir = data_dir / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir()
    child_env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)

    supervisor = Supervisor()
    status = 1
    try:
        if postgres is not None:
            fresh = postgres.init()
            log(f"postgres: {postgres.data_dir} on 127.0.0.1:{postgres.port}")
            postgres.start()
            if fresh:
                applied = postgres.run_sql_files(REPO / "init-scripts" / "postgres")
                log(f"postgres: first boot, applied {', '.join(applied) or 'no init scripts'}")
        if seaweedfs is not None:
            log(f"seaweedfs: {seaweedfs.data_dir}, S3 on {seaweedfs.endpoint}")
            seaweedfs.start()
        supervisor.start(
            Service(
                "migrate",
                [sys.executable, "-m", "app.migrate"],
                ready=lambda: True,
                env=child_env,
                cwd=REPO,
            )
        )
        migrate = supervisor.services.pop()
        assert migrate.process is not None
        if migrate.process.wait() != 0:
            raise RuntimeError("migrations failed")

        api_url = f"http://127.0.0.1:{api_port}"
        supervisor.start(
            Service(
                "api",
                [
                    sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app",
                    "--host", "127.0.0.1", "--port", str(api_port), "--workers", workers,
                    "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1",
                    "--timeout-graceful-shutdown", "20", "--no-access-log", "--no-server-header",
                ],
                ready=lambda: http_ok(f"{api_url}/health/ready"),
                env=child_env,
                cwd=REPO,
            )
        )  # fmt: skip
        site_port = int(_env("DEVSTACK_HTTP_PORT", "8080"))
        caddy_admin = f"127.0.0.1:{_env('DEVSTACK_CADDY_ADMIN_PORT', '2019')}"
        supervisor.start(
            Service(
                "caddy",
                [str(caddy_binary()), "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
                ready=lambda: http_ok(f"http://{caddy_admin}/config/"),
                env=caddy_env(
                    settings,
                    data_dir=data_dir,
                    site_port=site_port,
                    admin=caddy_admin,
                    api_port=api_port,
                    metrics_port=int(_env("DEVSTACK_CADDY_METRICS_PORT", "2020")),
                ),
                cwd=REPO,
            )
        )
        site = f"http://127.0.0.1:{site_port}"
        log(f"website  {site}/   (contact form, document search)")
        log(f"API      {site}/api/...   docs: {site}/docs   (direct: {api_url}/)")
        log(f"health   {site}/health/ready   metrics (direct only): {api_url}/metrics")
        log("Ctrl-C stops everything.")
        status = supervisor.wait()
    except KeyboardInterrupt:
        status = 0
    except RuntimeError as exc:
        log(f"error: {exc}")
    finally:
        supervisor.stop()
        if seaweedfs is not None:
            log("stopping seaweedfs")
            seaweedfs.stop()
        if postgres is not None:
            log("stopping postgres")
            postgres.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
