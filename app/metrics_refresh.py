"""Gauges read from the database when Prometheus scrapes: documents by status, job queue."""

import logging

from app import metrics
from app.db import Database
from app.documents import repository as documents_repository
from app.errors import AppError
from app.jobs import repository as jobs_repository

logger = logging.getLogger(__name__)


async def refresh_database_metrics(db: Database, *, task_names: list[str]) -> None:
    """Best effort: with the database down the scrape still answers, with the last values."""
    try:
        async with db.transaction() as conn:
            counts = await documents_repository.status_counts(conn)
            queue = await jobs_repository.queue_stats(conn)
    except AppError:
        return
    metrics.record_document_counts(counts)
    metrics.record_queue_stats(queue, task_names)
