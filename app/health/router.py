"""Liveness, readiness and the database check. None of these are cached."""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.errors import error_body
from app.health import service
from app.health.schemas import DbCheck, Liveness, Readiness
from app.resources import ResourcesDep

router = APIRouter(tags=["health"])

_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "A dependency is down; `Retry-After` says when to ask again."}
}


@router.get("/health", response_model=Liveness)
async def get_health() -> Liveness:
    """Liveness: the process answers. Touches no dependency."""
    return Liveness()


@router.get("/health/ready", response_model=Readiness, responses=_UNAVAILABLE)
async def get_readiness(resources: ResourcesDep) -> Any:
    """Readiness: database reachable and schema at the expected migration (503 otherwise).

    Storage and search are reported too; when only they fail the status is `degraded` (200).
    """
    report = await service.readiness(resources)
    if report.status != "unavailable":
        return report
    failed = ", ".join(name for name, check in report.checks.items() if not check.ok)
    return JSONResponse(
        {**report.model_dump(), **error_body("not_ready", f"not ready: {failed}")},
        status_code=503,
        headers={"Retry-After": str(resources.settings.retry_after_seconds)},
    )


@router.get("/db-check", response_model=DbCheck, responses=_UNAVAILABLE)
async def check_db(resources: ResourcesDep) -> Any:
    """Run `SELECT 1` through the connection pool and report the round-trip time."""
    result = await service.check_database(resources)
    if result.ok:
        return DbCheck(ok=True, latency_ms=result.latency_ms)
    return JSONResponse(
        {
            **DbCheck(ok=False).model_dump(),
            **error_body("database_unavailable", result.detail or "database unavailable"),
        },
        status_code=503,
        headers={"Retry-After": str(resources.settings.retry_after_seconds)},
    )
