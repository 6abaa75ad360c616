"""Throughput and latency of POST /api/contact and GET /api/contacts/{id} through real uvicorn.

    make bench            # or: .venv/bin/python -m bench.contacts --requests 2000 --concurrency 16

Starts its own PostgreSQL (pgserver wheel, durable settings as in `make run`) and uvicorn with
WEB_CONCURRENCY workers on loopback, sends a bounded number of requests, prints the figures.
"""

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from app.migrate import run_migrations
from bench.api import running_api
from devstack.postgres import EmbeddedPostgres, free_port

RequestMaker = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def measure(
    client: httpx.AsyncClient,
    label: str,
    requests: int,
    concurrency: int,
    make_request: RequestMaker,
) -> list[str]:
    latencies: list[float] = []
    ids: list[str] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            started = time.perf_counter()
            response = await make_request(client, i)
            latencies.append(time.perf_counter() - started)
            if response.status_code not in (200, 201):
                raise RuntimeError(f"{label}: {response.status_code} {response.text[:200]}")
            if response.status_code == 201:
                ids.append(response.json()["id"])

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    print(
        f"{label:<28} {requests / elapsed:8.0f} req/s   p50 {p50:6.1f} ms   "
        f"p99 {p99:6.1f} ms   mean {statistics.mean(latencies) * 1000:6.1f} ms"
    )
    return ids


async def run(url: str, requests: int, concurrency: int) -> None:
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        body = {"name": "Bench", "email": "b@example.com", "subject": "s", "message": "m" * 500}

        async def post(c: httpx.AsyncClient, i: int) -> httpx.Response:
            return await c.post("/api/contact", json=body | {"tags": [f"t{i % 10}"]})

        ids = await measure(client, "POST /api/contact (JSON)", requests, concurrency, post)

        async def get(c: httpx.AsyncClient, i: int) -> httpx.Response:
            return await c.get(f"/api/contacts/{ids[i % len(ids)]}")

        await measure(client, "GET /api/contacts/{id}", requests, concurrency, get)

        async def page(c: httpx.AsyncClient, i: int) -> httpx.Response:
            return await c.get("/api/contacts", params={"tag": f"t{i % 10}", "limit": 20})

        await measure(client, "GET /api/contacts?tag=", requests, concurrency, page)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="bench-"))
    server = EmbeddedPostgres(
        base / "pg", port=free_port(), user="bench", password="bench", database="bench"
    )
    server.start()
    try:
        run_migrations(server.conninfo())
        metrics_dir = base / "metrics"
        metrics_dir.mkdir()
        env = {
            **os.environ,
            "DATABASE_URL": server.conninfo(),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "LOG_LEVEL": "WARNING",
        }
        with running_api(env, "--workers", str(args.workers), "--no-access-log") as (url, _):
            print(
                f"# {args.requests} requests each, concurrency {args.concurrency}, "
                f"{args.workers} uvicorn workers, {os.cpu_count()} CPUs, loopback"
            )
            asyncio.run(run(url, args.requests, args.concurrency))
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
