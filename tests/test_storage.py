"""Both storage backends, same behaviour: streaming put, get, delete, checks, aborted uploads.

The S3 backend runs against a real SeaweedFS that checks request signatures.
"""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from app.storage import (
    FilesystemStorage,
    ObjectNotFoundError,
    ObjectStorage,
    S3Storage,
    StorageUnavailableError,
)
from devstack.seaweedfs import EmbeddedSeaweedFS
from tests.conftest import s3_settings

pytestmark = pytest.mark.anyio

MiB = 1024 * 1024


class BoomError(Exception):
    pass


async def chunks_of(
    data: bytes, size: int = 64 * 1024, *, fail_at: int | None = None
) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), size):
        if fail_at is not None and offset >= fail_at:
            raise BoomError
        yield data[offset : offset + size]


async def read_all(storage: ObjectStorage, key: str) -> bytes:
    return b"".join([chunk async for chunk in storage.get(key)])


def new_bucket() -> str:
    return f"t-{uuid.uuid4().hex[:20]}"


def make_s3(server: EmbeddedSeaweedFS, bucket: str, **overrides: Any) -> S3Storage:
    return S3Storage(Settings(_env_file=None, **s3_settings(server, bucket, **overrides)))


@pytest.fixture(params=["filesystem", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStorage:
    if request.param == "filesystem":
        backend: ObjectStorage = FilesystemStorage(tmp_path / "objects")
    else:
        backend = make_s3(request.getfixturevalue("seaweedfs"), new_bucket())
    await backend.setup()
    await backend.setup()  # idempotent
    return backend


async def test_round_trip_of_a_multipart_sized_object(storage: ObjectStorage) -> None:
    data = bytes(range(256)) * (12 * MiB // 256) + b"tail"  # 3 parts of 5 MiB on S3
    await storage.put("documents/a/b", chunks_of(data), content_type="application/pdf")
    assert await read_all(storage, "documents/a/b") == data
    await storage.check()


async def test_failed_stream_leaves_nothing(storage: ObjectStorage) -> None:
    data = b"x" * (11 * MiB)
    with pytest.raises(BoomError):
        await storage.put(
            "documents/a/partial", chunks_of(data, fail_at=7 * MiB), content_type="x/y"
        )
    with pytest.raises(ObjectNotFoundError):
        await read_all(storage, "a/partial")


async def test_small_failed_stream_leaves_nothing(storage: ObjectStorage) -> None:
    with pytest.raises(BoomError):
        await storage.put("k", chunks_of(b"y" * 300_000, fail_at=200_000), content_type="x/y")
    with pytest.raises(ObjectNotFoundError):
        await read_all(storage, "k")


async def test_delete_is_idempotent(storage: ObjectStorage) -> None:
    await storage.put("gone", chunks_of(b"bye"), content_type="text/plain")
    await storage.delete("gone")
    await storage.delete("gone")
    with pytest.raises(ObjectNotFoundError):
        await read_all(storage, "gone")


async def test_filesystem_keys_cannot_escape_the_folder(tmp_path: Path) -> None:
    storage = FilesystemStorage(tmp_path / "objects")
    with pytest.raises(ValueError, match="escapes"):
        await storage.put("../outside", chunks_of(b"x"), content_type="text/plain")
    assert not (tmp_path / "outside").exists()


async def test_s3_wrong_secret_is_refused(seaweedfs: EmbeddedSeaweedFS) -> None:
    storage = make_s3(seaweedfs, new_bucket(), s3_secret_key="not-the-secret-key")
    with pytest.raises(StorageUnavailableError) as caught:
        await storage.check()
    # A HEAD answer has no body to carry the code, so the SDK reports the 403 as AccessDenied.
    assert caught.value.reason == "S3 AccessDenied"
    with pytest.raises(StorageUnavailableError) as put_error:
        await storage.put("k", chunks_of(b"x"), content_type="text/plain")
    assert put_error.value.reason == "S3 SignatureDoesNotMatch"


async def test_s3_missing_bucket_fails_the_check_until_setup(seaweedfs: EmbeddedSeaweedFS) -> None:
    bucket = new_bucket()
    without = make_s3(seaweedfs, bucket, s3_create_bucket=False)
    await without.setup()
    with pytest.raises(StorageUnavailableError, match="unavailable") as caught:
        await without.check()
    assert caught.value.reason == f"bucket {bucket} does not exist"
    with pytest.raises(StorageUnavailableError) as put_error:
        await without.put("k", chunks_of(b"x"), content_type="text/plain")
    assert put_error.value.reason == "S3 NoSuchBucket"
    creating = make_s3(seaweedfs, bucket)
    await creating.setup()
    await creating.check()


async def test_s3_server_down_is_storage_unavailable(own_seaweedfs: EmbeddedSeaweedFS) -> None:
    storage = make_s3(own_seaweedfs, new_bucket())
    await storage.setup()
    own_seaweedfs.stop()
    with pytest.raises(StorageUnavailableError):
        await storage.put("k", chunks_of(b"x" * 1000), content_type="text/plain")
    with pytest.raises(StorageUnavailableError):
        await storage.check()
    own_seaweedfs.start()
    await storage.check()
