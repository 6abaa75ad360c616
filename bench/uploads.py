"""Memory and throughput of a large attachment upload, through real uvicorn, per backend.

    make bench            # or: .venv/bin/python -m bench.uploads --mib 100

Starts its own PostgreSQL, SeaweedFS and uvicorn (one process) on loopback, streams a
generated file of --mib MiB as a chunked multipart body, and reports the server's peak RSS
growth during the upload (Linux VmHWM, reset just before) and the throughput.
"""

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.migrate import run_migrations
from bench.api import running_api
from devstack.postgres import EmbeddedPostgres, free_port
from devstack.seaweedfs import EmbeddedSeaweedFS

MiB = 1024 * 1024
CHUNK = 256 * 1024
ACCESS_KEY, SECRET_KEY = "bench-access", "bench-secret-key-123"


@dataclass(frozen=True)
class UploadResult:
    backend: str
    size_mib: int
    seconds: float
    rss_before_mib: float
    peak_growth_mib: float
    status: int

    @property
    def mib_per_second(self) -> float:
        return self.size_mib / self.seconds

    def line(self) -> str:
        return (
            f"{self.backend:<11} {self.size_mib:5d} MiB  {self.mib_per_second:7.1f} MiB/s  "
            f"server RSS {self.rss_before_mib:6.1f} MiB, "
            f"peak growth {self.peak_growth_mib:6.1f} MiB"
        )


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def _body(size: int, boundary: str) -> Iterator[bytes]:
    fields = {"name": "Bench", "email": "b@example.com", "subject": "big", "message": "m"}
    for key, value in fields.items():
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
        ).encode()
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    line = b"0123456789abcdef" * (CHUNK // 16)
    for _ in range(size // CHUNK):
        yield line
    yield f"\r\n--{boundary}--\r\n".encode()


def measure_upload(backend: str, *, size_mib: int, workdir: Path) -> UploadResult:
    """One upload of `size_mib` MiB to a fresh stack using `backend` (s3 or filesystem)."""
    postgres = EmbeddedPostgres(
        workdir / "pg", port=free_port(), user="bench", password="bench", database="bench"
    )
    seaweedfs = EmbeddedSeaweedFS(
        workdir / "s3", s3_port=free_port(), access_key=ACCESS_KEY, secret_key=SECRET_KEY
    )
    postgres.start()
    try:
        run_migrations(postgres.conninfo())
        env = {
            **os.environ,
            "DATABASE_URL": postgres.conninfo(),
            "LOG_LEVEL": "WARNING",
            "MAX_UPLOAD_BYTES": str((size_mib + 1) * MiB),
            "STORAGE_BACKEND": backend,
            "STORAGE_DIR": str(workdir / "objects"),
            "WORKER_IN_APP": "false",
        }
        if backend == "s3":
            seaweedfs.start()
            env |= {
                "S3_ENDPOINT": seaweedfs.endpoint,
                "S3_ACCESS_KEY": ACCESS_KEY,
                "S3_SECRET_KEY": SECRET_KEY,
            }
        with running_api(env) as (url, api):
            # A small upload first, so imports and pools are warm before measuring.
            httpx.post(
                f"{url}/api/contact",
                data={"name": "w", "email": "w@example.com", "subject": "w", "message": "w"},
                files={"files": ("w.txt", b"warm up", "text/plain")},
            ).raise_for_status()
            rss_before = _status_kib(api.pid, "VmRSS")
            Path(f"/proc/{api.pid}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
            boundary = "bench-boundary"
            started = time.perf_counter()
            response = httpx.post(
                f"{url}/api/contact",
                content=_body(size_mib * MiB, boundary),
                headers={"content-type": f"multipart/form-data; boundary={boundary}"},
                timeout=600,
            )
            seconds = time.perf_counter() - started
            peak = _status_kib(api.pid, "VmHWM")
        return UploadResult(
            backend=backend,
            size_mib=size_mib,
            seconds=seconds,
            rss_before_mib=rss_before / 1024,
            peak_growth_mib=(peak - rss_before) / 1024,
            status=response.status_code,
        )
    finally:
        seaweedfs.stop()
        postgres.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=100)
    args = parser.parse_args()
    print(f"# one {args.mib} MiB attachment, chunked multipart, 1 uvicorn process, loopback")
    for backend in ("s3", "filesystem"):
        workdir = Path(tempfile.mkdtemp(prefix="bench-upload-"))
        try:
            result = measure_upload(backend, size_mib=args.mib, workdir=workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        print(result.line(), "" if result.status == 201 else f"(HTTP {result.status}!)")


if __name__ == "__main__":
    main()
