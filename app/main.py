"""The FastAPI application: `uvicorn --factory app.main:create_app`."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from app import __version__, metrics
from app.config import Settings, load_settings
from app.contacts.router import REQUEST_MODELS as CONTACT_REQUEST_MODELS
from app.contacts.router import router as contacts_router
from app.db import Pool
from app.docs import install_docs
from app.documents.router import router as documents_router
from app.errors import install_error_handlers
from app.health.router import router as health_router
from app.jobs.router import router as jobs_router
from app.jobs.service import Worker
from app.logs import configure_logging
from app.metrics_refresh import refresh_database_metrics
from app.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from app.openapi import add_component_schemas
from app.worker import TASKS, open_resources

logger = logging.getLogger(__name__)

POOL_METRICS_INTERVAL = 5.0

DESCRIPTION = """
Accepts contact-form submissions from the website and from API clients, and stores them in
PostgreSQL.

* **Contacts**: `POST /api/contact` takes JSON, a URL-encoded form or a multipart form with
  attachments (`files`). Read them back with `GET /api/contacts/{id}` and page through them
  with `GET /api/contacts`.
* **Documents**: attachments are streamed to object storage, then processed in the background
  (text, language, keywords, e-mail addresses, URLs, page count) and indexed for search:
  `GET /api/documents/search?q=`, `GET /api/documents/{id}`, `.../download`.
* **Jobs**: follow-up work is durable; `GET /api/jobs?status=dead` shows what gave up.
* **Health**: `/health` (liveness), `/health/ready` (readiness, per dependency), `/db-check`.
* **Metrics**: `/metrics` in the Prometheus text format.

Every error has the same body: `{"error": {"code", "message", "details"}}`.
"""

TAGS = [
    {"name": "contacts", "description": "Contact-form submissions, with attachments."},
    {"name": "documents", "description": "Attachments: metadata, download, full-text search."},
    {"name": "jobs", "description": "Durable background work and its dead letters."},
    {"name": "health", "description": "Liveness and readiness probes for orchestrators."},
    {"name": "operations", "description": "Service information and metrics."},
]


async def _sample_pool_metrics(pool: Pool) -> None:
    while True:
        metrics.record_pool_stats(pool.pop_stats())
        await asyncio.sleep(POOL_METRICS_INTERVAL)


WORKER_STOP_TIMEOUT = 20.0


def _lifespan(settings: Settings) -> Any:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        metrics.BUILD_INFO.labels(version=__version__, commit=settings.build_commit).set(1)
        async with open_resources(settings) as resources:
            app.state.resources = resources
            background = [asyncio.create_task(_sample_pool_metrics(resources.db.pool))]
            worker = Worker(resources, TASKS) if settings.worker_in_app else None
            if worker is not None:
                background.append(asyncio.create_task(worker.run()))
            logger.info(
                "started %s %s (%s)", settings.service_name, __version__, settings.environment
            )
            try:
                yield
            finally:
                if worker is not None:
                    # Jobs in hand finish; anything cut short is released for another worker.
                    worker.stop()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(background[-1]), WORKER_STOP_TIMEOUT)
                for task in background:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                metrics.mark_process_dead()
                logger.info("stopped")

    return lifespan


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(
        level=settings.log_level, fmt=settings.log_format, service=settings.service_name
    )
    app = FastAPI(
        title="Contact API",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=_lifespan(settings),
        # Both default UIs load scripts from a CDN; /docs is served from a bundled copy instead.
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app)
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        # A multipart contact may carry every attachment at full size, plus its fields.
        upload_paths={"/api/contact"},
        upload_max_bytes=settings.max_attachments * settings.max_upload_bytes
        + settings.max_request_bytes,
    )
    # Added last, so it runs first: every response, including a 413, carries a request ID.
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health_router)
    app.include_router(contacts_router)
    app.include_router(documents_router)
    app.include_router(jobs_router)
    add_component_schemas(app, CONTACT_REQUEST_MODELS)

    @app.get("/", tags=["operations"])
    async def get_root(request: Request) -> dict[str, Any]:
        """Service name, version and where to go next."""
        return {
            "service": settings.service_name,
            "version": __version__,
            "links": {
                "docs": "/docs",
                "openapi": request.app.openapi_url,
                "health": "/health",
                "readiness": "/health/ready",
                "db_check": "/db-check",
                "metrics": "/metrics",
                "contacts": "/api/contacts",
            },
        }

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def get_metrics() -> Response:
        """Prometheus metrics in the text exposition format."""
        resources = app.state.resources
        metrics.record_pool_stats(resources.db.pool.pop_stats())
        await refresh_database_metrics(resources.db, task_names=[t.name for t in TASKS])
        return Response(metrics.render_latest(), media_type=metrics.CONTENT_TYPE)

    return app
