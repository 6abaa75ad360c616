"""Readiness: can this instance serve real requests right now?"""

import time

from app.errors import AppError
from app.health import repository
from app.health.schemas import CheckResult, Readiness
from app.resources import Resources


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


async def readiness(resources: Resources) -> Readiness:
    checks = {"database": await check_database(resources)}
    if checks["database"].ok:
        checks["migrations"] = await check_migrations(resources)
    else:
        checks["migrations"] = CheckResult(ok=False, detail="database unavailable")
    ready = all(check.ok for check in checks.values())
    return Readiness(status="ready" if ready else "unavailable", checks=checks)
