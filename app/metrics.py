"""Prometheus metrics. Correct under several worker processes when PROMETHEUS_MULTIPROC_DIR is set.

Gauges state how they combine across processes (`multiprocess_mode`); a worker marks its own
files dead on shutdown so `livesum` gauges drop its values.
"""

import os
from collections.abc import Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

# `*_created` series double the output and no dashboard or rule reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

CONTENT_TYPE = CONTENT_TYPE_LATEST
UNMATCHED_ROUTE = "<unmatched>"

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by route template, method and status code.",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from request start to the end of the response body, by route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
HTTP_IN_FLIGHT = Gauge(
    "http_requests_in_flight",
    "Requests being handled right now.",
    multiprocess_mode="livesum",
)

DB_POOL_SIZE = Gauge(
    "db_pool_connections", "Connections open in the pool.", multiprocess_mode="livesum"
)
DB_POOL_AVAILABLE = Gauge(
    "db_pool_connections_idle", "Idle connections in the pool.", multiprocess_mode="livesum"
)
DB_POOL_MAX = Gauge(
    "db_pool_connections_max", "Configured maximum pool size.", multiprocess_mode="livesum"
)
DB_POOL_WAITING = Gauge(
    "db_pool_requests_waiting",
    "Clients queued for a connection.",
    multiprocess_mode="livesum",
)
DB_POOL_REQUESTS = Counter("db_pool_requests_total", "Connection requests made to the pool.")
DB_POOL_WAIT_SECONDS = Counter(
    "db_pool_wait_seconds_total", "Time clients spent waiting for a connection."
)
DB_POOL_TIMEOUTS = Counter(
    "db_pool_timeouts_total", "Connection requests that timed out (answered 503)."
)
DB_POOL_CONNECTION_ERRORS = Counter(
    "db_pool_connection_errors_total", "Failed attempts to open a database connection."
)

CONTACT_SUBMISSIONS = Counter(
    "contact_submissions_total", "Contact submissions stored, by source.", ["source"]
)

UPLOAD_BYTES = Counter(
    "upload_bytes_total", "Attachment bytes stored, by storage backend.", ["backend"]
)
UPLOADS = Counter(
    "uploads_total", "Attachment uploads by outcome (stored, rejected, failed).", ["outcome"]
)
UPLOAD_DURATION = Histogram(
    "upload_duration_seconds",
    "Time to stream one attachment into storage.",
    ["backend"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
DOCUMENTS = Gauge(
    "documents",
    "Documents by processing status (read from the database at scrape time).",
    ["status"],
    multiprocess_mode="mostrecent",
)
DOCUMENTS_PROCESSED = Counter(
    "documents_processed_total", "Documents whose processing finished, by result.", ["result"]
)

JOBS = Gauge(
    "jobs",
    "Background jobs not yet done, by task and status (read at scrape time).",
    ["task", "status"],
    multiprocess_mode="mostrecent",
)
JOB_OLDEST_DUE_SECONDS = Gauge(
    "jobs_oldest_due_seconds",
    "Age of the oldest pending job that is due, by task (0 when none is waiting).",
    ["task"],
    multiprocess_mode="mostrecent",
)
JOB_DURATION = Histogram(
    "job_duration_seconds",
    "Time spent running job handlers, by task and outcome.",
    ["task", "outcome"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)
JOB_FAILURES = Counter("job_failures_total", "Failed job attempts, by task.", ["task"])
JOBS_DEAD = Counter("jobs_dead_total", "Jobs dead-lettered after their last attempt.", ["task"])

SEARCH_DURATION = Histogram(
    "search_request_duration_seconds",
    "Calls to the search backend, by backend, operation and outcome.",
    ["backend", "operation", "outcome"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

DEPENDENCY_UP = Gauge(
    "app_dependency_up",
    "1 when the last readiness check of a dependency passed, else 0.",
    ["dependency"],
    multiprocess_mode="mostrecent",
)

BUILD_INFO = Gauge(
    "app_build_info",
    "Always 1; the labels say which build is running.",
    ["version", "commit"],
    multiprocess_mode="max",
)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render_latest() -> bytes:
    """The exposition text: summed over all workers in multiprocess mode, else this process."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def mark_process_dead() -> None:
    if multiprocess_dir():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def record_queue_stats(rows: list[dict[str, object]], known_tasks: list[str]) -> None:
    """Publish job counts; tasks with nothing waiting report 0 rather than vanishing."""
    counts = {(str(r["task"]), str(r["status"])): float(str(r["jobs"])) for r in rows}
    tasks = sorted(set(known_tasks) | {task for task, _ in counts})
    for task in tasks:
        for status in ("pending", "running", "dead"):
            JOBS.labels(task=task, status=status).set(counts.get((task, status), 0.0))
        oldest = [
            float(str(r["oldest_due_seconds"]))
            for r in rows
            if r["task"] == task and r["status"] == "pending"
        ]
        JOB_OLDEST_DUE_SECONDS.labels(task=task).set(max(oldest, default=0.0))


def record_document_counts(counts: Mapping[str, int]) -> None:
    for status in ("pending", "processing", "completed", "failed"):
        DOCUMENTS.labels(status=status).set(counts.get(status, 0))


def record_pool_stats(stats: Mapping[str, int]) -> None:
    """Publish psycopg_pool statistics; the counters come from `pop_stats()` deltas."""
    DB_POOL_SIZE.set(stats.get("pool_size", 0))
    DB_POOL_AVAILABLE.set(stats.get("pool_available", 0))
    DB_POOL_MAX.set(stats.get("pool_max", 0))
    DB_POOL_WAITING.set(stats.get("requests_waiting", 0))
    DB_POOL_REQUESTS.inc(stats.get("requests_num", 0))
    DB_POOL_WAIT_SECONDS.inc(stats.get("requests_wait_ms", 0) / 1000)
    DB_POOL_TIMEOUTS.inc(stats.get("requests_errors", 0))
    DB_POOL_CONNECTION_ERRORS.inc(stats.get("connections_errors", 0))
