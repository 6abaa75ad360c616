"""Durable background work: tasks, enqueueing inside the caller's transaction, and the worker.

Delivery is at least once: a handler may run again after a crash, so every handler is written
to be idempotent (running it twice changes nothing).
"""

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app import metrics
from app.db import Connection
from app.errors import AppError
from app.jobs import repository
from app.resources import Resources

logger = logging.getLogger(__name__)

Handler = Callable[[Resources, dict[str, Any]], Awaitable[None]]
DeadHandler = Callable[[Resources, dict[str, Any], str], Awaitable[None]]

PURGE_EVERY_SECONDS = 600.0
KEEP_DONE_JOBS = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Task:
    name: str
    run: Handler
    max_attempts: int = 5
    on_dead: DeadHandler | None = None  # called once when the job is dead-lettered


async def enqueue(
    conn: Connection, task: Task, payload: dict[str, Any], *, delay: timedelta = timedelta(0)
) -> int:
    """Add a job in the caller's transaction: it exists if and only if the caller commits."""
    return await repository.enqueue(
        conn, task=task.name, payload=payload, max_attempts=task.max_attempts, delay=delay
    )


def backoff(attempt: int, *, base: float, cap: float) -> timedelta:
    """Exponential backoff with +-20% jitter, so retries from many jobs do not align."""
    seconds = min(cap, base * 2 ** max(0, attempt - 1))
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311 (not crypto)


def _describe(exc: BaseException) -> str:
    reason = exc.message if isinstance(exc, AppError) else str(exc)
    return f"{type(exc).__name__}: {reason}"[:2000]


class Worker:
    """Claims due jobs and runs their handlers, `concurrency` at a time."""

    def __init__(self, resources: Resources, tasks: Sequence[Task]) -> None:
        self.resources = resources
        self.settings = resources.settings
        self.tasks = {task.name: task for task in tasks}
        self._stopping = asyncio.Event()
        # Series exist from the start at 0, so the first failure is an increase() alerts see.
        for name in self.tasks:
            metrics.JOB_FAILURES.labels(task=name).inc(0)
            metrics.JOBS_DEAD.labels(task=name).inc(0)

    async def run_next(self) -> bool:
        """Run one due job. False when none was due."""
        lease = timedelta(seconds=self.settings.job_lease_seconds)
        async with self.resources.db.transaction() as conn:
            job = await repository.claim(conn, lease=lease)
        if job is None:
            return False
        task = self.tasks.get(job["task"])
        if task is None:
            await self._bury(job, None, f"unknown task {job['task']!r}")
            return True
        if job["attempts"] > job["max_attempts"]:
            # Claimed again after its last attempt's worker died mid-run.
            await self._bury(job, task, job["last_error"] or "worker lost during last attempt")
            return True
        await self._execute(job, task)
        return True

    async def _execute(self, job: dict[str, Any], task: Task) -> None:
        started = time.perf_counter()
        outcome = "done"
        try:
            await task.run(self.resources, job["payload"])
        except asyncio.CancelledError:
            outcome = "interrupted"
            with contextlib.suppress(Exception):
                await asyncio.shield(self._release(job))
            raise
        except Exception as exc:
            outcome = "failed"
            await self._failed(job, task, exc)
        else:
            async with self.resources.db.transaction() as conn:
                await repository.complete(conn, job["id"])
        finally:
            metrics.JOB_DURATION.labels(task=task.name, outcome=outcome).observe(
                time.perf_counter() - started
            )

    async def _failed(self, job: dict[str, Any], task: Task, exc: Exception) -> None:
        error = _describe(exc)
        metrics.JOB_FAILURES.labels(task=task.name).inc()
        if job["attempts"] >= job["max_attempts"]:
            logger.error(
                "job %s (%s) dead after %d attempts: %s",
                job["id"],
                task.name,
                job["attempts"],
                error,
            )
            await self._bury(job, task, error)
            return
        delay = backoff(
            job["attempts"],
            base=self.settings.job_retry_base_seconds,
            cap=self.settings.job_retry_max_seconds,
        )
        logger.warning(
            "job %s (%s) attempt %d/%d failed, retrying in %.1fs: %s",
            job["id"], task.name, job["attempts"], job["max_attempts"],
            delay.total_seconds(), error,
        )  # fmt: skip
        async with self.resources.db.transaction() as conn:
            await repository.retry_later(conn, job["id"], error=error, delay=delay)

    async def _bury(self, job: dict[str, Any], task: Task | None, error: str) -> None:
        async with self.resources.db.transaction() as conn:
            await repository.bury(conn, job["id"], error=error)
        metrics.JOBS_DEAD.labels(task=job["task"]).inc()
        if task is not None and task.on_dead is not None:
            await task.on_dead(self.resources, job["payload"], error)

    async def _release(self, job: dict[str, Any]) -> None:
        async with self.resources.db.transaction() as conn:
            await repository.retry_later(
                conn, job["id"], error="interrupted by shutdown", delay=timedelta(0)
            )

    async def drain(self, *, limit: int = 10_000) -> int:
        """Run jobs until none is due (tests, one-off maintenance). Returns how many ran."""
        ran = 0
        while ran < limit and await self.run_next():
            ran += 1
        return ran

    async def _loop(self) -> None:
        poll = self.settings.job_poll_seconds
        while not self._stopping.is_set():
            try:
                if await self.run_next():
                    continue
            except Exception:
                # Database down or a bug in bookkeeping: the lease brings the job back later.
                logger.exception("worker loop error; retrying in %.1fs", poll * 5)
                await self._sleep(poll * 5)
                continue
            await self._sleep(poll)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _purge(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(Exception):
                async with self.resources.db.transaction() as conn:
                    purged = await repository.purge_done(conn, older_than=KEEP_DONE_JOBS)
                if purged:
                    logger.info("purged %d finished jobs", purged)
            await self._sleep(PURGE_EVERY_SECONDS)

    async def run(self) -> None:
        """Until `stop()`: finishes the jobs in hand, then returns."""
        logger.info(
            "worker started: %d concurrent, tasks %s",
            self.settings.worker_concurrency,
            ", ".join(sorted(self.tasks)),
        )
        async with asyncio.TaskGroup() as group:
            for _ in range(self.settings.worker_concurrency):
                group.create_task(self._loop())
            group.create_task(self._purge())
        logger.info("worker stopped")

    def stop(self) -> None:
        self._stopping.set()
