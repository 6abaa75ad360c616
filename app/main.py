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
from app.db import Database, Pool, open_pool
from app.errors import install_error_handlers
from app.health.router import router as health_router
from app.logs import configure_logging
from app.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from app.migrate import head_revision
from app.openapi import add_component_schemas
from app.resources import Resources

logger = logging.getLogger(__name__)

POOL_METRICS_INTERVAL = 5.0

DESCRIPTION = """
Accepts contact-form submissions from the website and from API clients, and stores them in
PostgreSQL.

* **Contacts**: `POST /api/contact` takes JSON, a URL-encoded form or a multipart form.
  Read them back with `GET /api/contacts/{id}` and page through them with `GET /api/contacts`.
* **Health**: `/health` (liveness), `/health/ready` (readiness, per dependency), `/db-check`.
* **Metrics**: `/metrics` in the Prometheus text format.

Every error has the same body: `{"error": {"code", "message", "details"}}`.
"""

TAGS = [
    {"name": "contacts", "description": "Contact-form submissions."},
    {"name": "health", "description": "Liveness and readiness probes for orchestrators."},
    {"name": "operations", "description": "Service information and metrics."},
]


async def _sample_pool_metrics(pool: Pool) -> None:
    while True:
        metrics.record_pool_stats(pool.pop_stats())
        await asyncio.sleep(POOL_METRICS_INTERVAL)


def _lifespan(settings: Settings) -> Any:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        metrics.BUILD_INFO.labels(version=__version__, commit=settings.build_commit).set(1)
        pool = await open_pool(settings)
        app.state.resources = Resources(
            settings=settings,
            db=Database(pool, retry_after=settings.retry_after_seconds),
            expected_revision=head_revision(),
        )
        sampler = asyncio.create_task(_sample_pool_metrics(pool))
        logger.info("started %s %s (%s)", settings.service_name, __version__, settings.environment)
        try:
            yield
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            await pool.close()
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
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes)
    # Added last, so it runs first: every response, including a 413, carries a request ID.
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health_router)
    app.include_router(contacts_router)
    add_component_schemas(app, CONTACT_REQUEST_MODELS)

    @app.get("/", tags=["operations"])
    async def get_root(request: Request) -> dict[str, Any]:
        """Service name, version and where to go next."""
        return {
            "service": settings.service_name,
            "version": __version__,
            "links": {
                "docs": request.app.docs_url,
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
        pool = app.state.resources.db.pool
        metrics.record_pool_stats(pool.pop_stats())
        return Response(metrics.render_latest(), media_type=metrics.CONTENT_TYPE)

    return app
