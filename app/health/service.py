"""Readiness: can this instance serve real requests right now?

The database is critical: without it nothing works, so readiness fails. Object storage and
search are reported but do not fail readiness: every replica shares them, so pulling replicas
out of rotation would turn "uploads and search are down" into "everything is down", while
contacts without files still work and queued jobs catch up when the backend returns.
"""

import time
from collections.abc import Awaitable, Callable

from app import metrics
from app.errors import AppError
from app.health import repository
from app.health.schemas import CheckResult, Readiness
from app.resources import Resources
from app.search import SearchUnavailableError
from app.storage import StorageUnavailableError


async def check_database(resources: Resources) -> CheckResult:
    """`SELECT 1` through the pool, timed."""
    started = time.perf_counter()
    try:
        async with resources.db.transaction() as conn:
            await repository.ping(conn)
    except AppError as exc:
        return CheckResult(ok=False, detail=exc.message)
    return CheckResult(ok=True, latency_ms=round((time.perf_counter() - started) * 1000, 2))


async def check_migrations(resources: Resources) -> CheckResult:
    try:
        async with resources.db.transaction() as conn:
            current = await repository.current_revision(conn)
    except AppError as exc:
        return CheckResult(ok=False, detail=exc.message)
    expected = resources.expected_revision
    return CheckResult(
        ok=current == expected,
        detail=f"schema at {current or 'nothing'}, expected {expected}",
    )


async def _check_backend(name: str, check: Callable[[], Awaitable[None]]) -> CheckResult:
    started = time.perf_counter()
    try:
        await check()
    except (StorageUnavailableError, SearchUnavailableError) as exc:
        return CheckResult(ok=False, critical=False, detail=f"{name}: {exc.reason}")
    latency = round((time.perf_counter() - started) * 1000, 2)
    return CheckResult(ok=True, critical=False, latency_ms=latency, detail=name)


async def readiness(resources: Resources) -> Readiness:
    checks = {"database": await check_database(resources)}
    if checks["database"].ok:
        checks["migrations"] = await check_migrations(resources)
    else:
        checks["migrations"] = CheckResult(ok=False, detail="database unavailable")
    checks["storage"] = await _check_backend(resources.storage.name, resources.storage.check)
    checks["search"] = await _check_backend(resources.search.name, resources.search.check)
    for name, check in checks.items():
        metrics.DEPENDENCY_UP.labels(dependency=name).set(1 if check.ok else 0)
    if not all(check.ok for check in checks.values() if check.critical):
        status = "unavailable"
    elif all(check.ok for check in checks.values()):
        status = "ready"
    else:
        status = "degraded"
    return Readiness(status=status, checks=checks)
