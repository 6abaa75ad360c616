"""Background work: the task list, the resources a worker needs, and `python -m app.worker`.

The API runs a worker inside its own process by default (WORKER_IN_APP=true); compose runs
this module as a separate service instead, with WORKER_IN_APP=false on the API.
"""

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from prometheus_client import start_http_server

from app import __version__, metrics
from app.config import Settings, load_settings
from app.contacts.tasks import TASKS as CONTACT_TASKS
from app.db import Database, open_pool
from app.documents.tasks import TASKS as DOCUMENT_TASKS
from app.jobs.service import Task, Worker
from app.logs import configure_logging
from app.migrate import head_revision
from app.notifications import make_notifier
from app.resources import Resources
from app.search import make_search
from app.storage import make_storage

logger = logging.getLogger(__name__)

TASKS: tuple[Task, ...] = (*CONTACT_TASKS, *DOCUMENT_TASKS)
TASK_NAMES = [task.name for task in TASKS]


@contextlib.asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    """Pool, storage, search and notifier, set up in order and closed in reverse."""
    pool = await open_pool(settings)
    notifier = make_notifier(settings)
    try:
        db = Database(pool, retry_after=settings.retry_after_seconds)
        storage = make_storage(settings)
        search = make_search(settings, db)
        for name, setup in (("storage", storage.setup), ("search", search.setup)):
            try:
                await setup()
            except Exception as exc:
                # Not fatal: readiness reports it, and jobs retry until the backend is back.
                logger.warning("%s setup failed, continuing: %s", name, exc)
        yield Resources(
            settings=settings,
            db=db,
            storage=storage,
            search=search,
            notifier=notifier,
            expected_revision=head_revision(),
        )
    finally:
        await notifier.close()
        await pool.close()


async def run_worker(settings: Settings) -> None:
    async with open_resources(settings) as resources:
        worker = Worker(resources, TASKS)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, worker.stop)
        await worker.run()


def main() -> None:
    settings = load_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format, service="worker")
    metrics.BUILD_INFO.labels(version=__version__, commit=settings.build_commit).set(1)
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, addr=settings.worker_metrics_host)
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
