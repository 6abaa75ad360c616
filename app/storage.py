"""Object storage for attachments: S3 (any S3 server, through the minio SDK) or a local folder.

Uploads stream: bytes flow from the request to the store as they arrive, in parts of
UPLOAD_PART_BYTES, so memory use does not grow with the file. The SDK is blocking, so it runs
in a worker thread that pulls chunks from the async side through `AsyncChunkReader`.
"""

import logging
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import anyio
import anyio.to_thread
import urllib3
from anyio.from_thread import run as run_from_thread
from minio import Minio
from minio.error import S3Error

from app.config import Settings
from app.errors import ServiceUnavailableError

logger = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024


class StorageUnavailableError(ServiceUnavailableError):
    def __init__(self, reason: str, *, retry_after: int = 5) -> None:
        super().__init__(
            "storage_unavailable",
            "object storage is unavailable; retry shortly",
            retry_after=retry_after,
        )
        self.reason = reason


class ObjectNotFoundError(Exception):
    pass


class ObjectStorage(Protocol):
    name: str

    async def put(self, key: str, chunks: AsyncIterator[bytes], *, content_type: str) -> None:
        """Store the stream under `key`; on any error nothing is left behind under `key`."""

    def get(self, key: str) -> AsyncIterator[bytes]:
        """The object's bytes, streamed. Raises ObjectNotFoundError."""

    async def delete(self, key: str) -> None:
        """Remove `key`; a missing key is not an error."""

    async def check(self) -> None:
        """Raise StorageUnavailableError unless the store answers and the bucket exists."""

    async def setup(self) -> None:
        """Create what the store needs (the bucket), when allowed. Idempotent."""


class AsyncChunkReader:
    """A blocking file-like `read()` over an async iterator, for SDK code in a worker thread.

    Must be read from a thread started by `anyio.to_thread.run_sync`. An exception raised by
    the iterator (a size limit, a client that went away) surfaces from `read()`, which makes
    the SDK abort the upload.
    """

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = bytearray()
        self._eof = False

    async def _next(self) -> bytes | None:
        try:
            return await anext(self._chunks)
        except StopAsyncIteration:
            return None

    def read(self, size: int = -1) -> bytes:
        while not self._eof and (size < 0 or len(self._buffer) < size):
            chunk = run_from_thread(self._next)
            if chunk is None:
                self._eof = True
            else:
                self._buffer += chunk
        if size < 0:
            size = len(self._buffer)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data


class S3Storage:
    name = "s3"

    def __init__(self, settings: Settings) -> None:
        self.bucket = settings.s3_bucket
        self.part_size = settings.upload_part_bytes
        self.create_bucket = settings.s3_create_bucket
        self.retry_after = settings.retry_after_seconds
        http = urllib3.PoolManager(
            maxsize=16,
            timeout=urllib3.Timeout(connect=3, read=60),
            # Idempotent retries only for connection trouble; the job system retries the rest.
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=()),
        )
        self.client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            region=settings.s3_region,
            secure=settings.s3_secure,
            http_client=http,
        )

    def _unavailable(self, exc: Exception) -> StorageUnavailableError:
        reason = f"S3 {exc.code}" if isinstance(exc, S3Error) else type(exc).__name__
        logger.warning("object storage unavailable: %s", reason)
        return StorageUnavailableError(reason, retry_after=self.retry_after)

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))
        except S3Error as exc:
            if exc.code in {"NoSuchKey", "NoSuchObject"}:
                raise ObjectNotFoundError(exc.code) from exc
            raise self._unavailable(exc) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._unavailable(exc) from exc

    async def put(self, key: str, chunks: AsyncIterator[bytes], *, content_type: str) -> None:
        reader = AsyncChunkReader(chunks)
        # length=-1: size unknown up front, so the SDK uploads in parts of `part_size`.
        await self._call(
            self.client.put_object,
            self.bucket,
            key,
            reader,
            -1,
            content_type=content_type,
            part_size=self.part_size,
        )

    async def get(self, key: str) -> AsyncIterator[bytes]:
        response = await self._call(self.client.get_object, self.bucket, key)
        try:
            stream: Iterator[bytes] = response.stream(CHUNK_BYTES)
            while chunk := await anyio.to_thread.run_sync(next, stream, b""):
                yield chunk
        finally:
            response.close()
            response.release_conn()

    async def delete(self, key: str) -> None:
        await self._call(self.client.remove_object, self.bucket, key)

    async def check(self) -> None:
        if not await self._call(self.client.bucket_exists, self.bucket):
            raise StorageUnavailableError(f"bucket {self.bucket} does not exist")

    async def setup(self) -> None:
        if not self.create_bucket:
            return
        if not await self._call(self.client.bucket_exists, self.bucket):
            try:
                await self._call(self.client.make_bucket, self.bucket)
            except StorageUnavailableError as exc:
                # Another replica created it between our two calls.
                if "BucketAlreadyOwnedByYou" not in exc.reason:
                    raise
            logger.info("created bucket %s", self.bucket)


class FilesystemStorage:
    """Objects as files under one folder; writes go to a temporary name, then rename."""

    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"key escapes the storage folder: {key!r}")
        return path

    @staticmethod
    def _write(path: Path, reader: BinaryIO) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
        try:
            with partial.open("wb") as out:
                shutil.copyfileobj(reader, out, CHUNK_BYTES)
                out.flush()
                os.fsync(out.fileno())
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)

    async def put(self, key: str, chunks: AsyncIterator[bytes], *, content_type: str) -> None:
        path = self._path(key)
        reader: Any = AsyncChunkReader(chunks)
        await anyio.to_thread.run_sync(self._write, path, reader)

    async def get(self, key: str) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            handle = await anyio.open_file(path, "rb")
        except FileNotFoundError as exc:
            raise ObjectNotFoundError(key) from exc
        async with handle:
            while chunk := await handle.read(CHUNK_BYTES):
                yield chunk

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(lambda: self._path(key).unlink(missing_ok=True))

    async def check(self) -> None:
        if not await anyio.to_thread.run_sync(os.access, self.root, os.W_OK):
            raise StorageUnavailableError(f"{self.root} is not writable")

    async def setup(self) -> None:
        await anyio.to_thread.run_sync(lambda: self.root.mkdir(parents=True, exist_ok=True))


def make_storage(settings: Settings) -> ObjectStorage:
    if settings.storage_backend == "s3":
        return S3Storage(settings)
    return FilesystemStorage(settings.storage_dir)
