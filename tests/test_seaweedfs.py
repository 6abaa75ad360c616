"""The embedded SeaweedFS (`weed mini`): real S3 with checked signatures, on 127.0.0.1 only."""

import hashlib
import io
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import urllib3
from minio import Minio
from minio.error import S3Error
from urllib3.exceptions import MaxRetryError

from devstack.postgres import free_port
from devstack.seaweedfs import EmbeddedSeaweedFS

pytestmark = pytest.mark.slow

ACCESS_KEY = "seaweed-tester"
SECRET_KEY = "s3cr3t/with+signs="  # characters that must survive the signing code
MIB = 1024 * 1024
PART_SIZE = 5 * MIB


def start_server(data_dir: Path) -> EmbeddedSeaweedFS:
    server = EmbeddedSeaweedFS(
        data_dir, s3_port=free_port(), access_key=ACCESS_KEY, secret_key=SECRET_KEY
    )
    started = time.monotonic()
    server.start()
    print(f"\nSeaweedFS start-up ({data_dir.name}): {time.monotonic() - started:.2f}s")
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSeaweedFS]:
    server = start_server(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def http() -> Iterator[urllib3.PoolManager]:
    # No retries and short timeouts, so a stopped server fails the call at once.
    pool = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=1, read=5), retries=urllib3.Retry(total=0)
    )
    yield pool
    pool.clear()


def s3_client(
    server: EmbeddedSeaweedFS,
    http: urllib3.PoolManager,
    *,
    access_key: str = ACCESS_KEY,
    secret_key: str = SECRET_KEY,
) -> Minio:
    return Minio(
        server.endpoint,
        access_key=access_key,
        secret_key=secret_key,
        secure=False,
        http_client=http,
    )


@pytest.fixture
def client(server: EmbeddedSeaweedFS, http: urllib3.PoolManager) -> Minio:
    return s3_client(server, http)


@pytest.fixture
def bucket(client: Minio) -> str:
    """A fresh bucket per test, so tests share the server but no state."""
    name = f"test-{uuid.uuid4().hex[:16]}"
    client.make_bucket(name)
    return name


@pytest.fixture
def stored_key(client: Minio, bucket: str) -> str:
    client.put_object(bucket, "notes/hello.txt", io.BytesIO(b"hello"), 5)
    return "notes/hello.txt"


def read_object(client: Minio, bucket: str, key: str) -> bytes:
    response = client.get_object(bucket, key)
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


def multipart_etag(data: bytes, part_size: int) -> str:
    """S3's ETag of a multipart upload: MD5 of the parts' MD5s, then '-' and the part count."""
    parts = [data[i : i + part_size] for i in range(0, len(data), part_size)]
    digests = b"".join(hashlib.md5(part).digest() for part in parts)  # noqa: S324 (S3's ETag)
    return f"{hashlib.md5(digests).hexdigest()}-{len(parts)}"  # noqa: S324


def port_accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """(host, port) of every TCP socket the process listens on, read from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = str(fd.readlink())
        except FileNotFoundError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            address, port = local.split(":")
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word of the address in host (little-endian) order.
            host_bytes = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.add((socket.inet_ntop(family, host_bytes), int(port, 16)))
    return found


def test_multipart_upload_round_trips(client: Minio, bucket: str) -> None:
    data = os.urandom(12 * MIB + 123)  # three parts: 5 MiB, 5 MiB and the rest

    result = client.put_object(
        bucket, "reports/big.bin", io.BytesIO(data), length=-1, part_size=PART_SIZE
    )

    expected_etag = multipart_etag(data, PART_SIZE)
    assert result.etag == expected_etag
    stat = client.stat_object(bucket, "reports/big.bin")
    assert stat.size == len(data)
    assert stat.etag == expected_etag
    assert read_object(client, bucket, "reports/big.bin") == data


def test_wrong_secret_key_is_refused(
    server: EmbeddedSeaweedFS, http: urllib3.PoolManager, bucket: str, stored_key: str
) -> None:
    impostor = s3_client(server, http, secret_key="not-the-secret")

    with pytest.raises(S3Error) as read:
        read_object(impostor, bucket, stored_key)
    with pytest.raises(S3Error) as write:
        impostor.put_object(bucket, "intruder.txt", io.BytesIO(b"x"), 1)

    # The key exists, so the request is authenticated and its signature does not match.
    assert read.value.code == "SignatureDoesNotMatch"
    assert write.value.code == "SignatureDoesNotMatch"


def test_unknown_access_key_is_refused(
    server: EmbeddedSeaweedFS, http: urllib3.PoolManager, bucket: str, stored_key: str
) -> None:
    stranger = s3_client(server, http, access_key="no-such-key")

    with pytest.raises(S3Error) as read:
        read_object(stranger, bucket, stored_key)

    assert read.value.code == "InvalidAccessKeyId"


def test_missing_bucket_is_reported(client: Minio) -> None:
    with pytest.raises(S3Error) as read:
        read_object(client, "no-such-bucket", "anything.txt")
    # Like S3, a write does not create the bucket (weed's default would for admin keys).
    with pytest.raises(S3Error) as write:
        client.put_object("no-such-bucket", "anything.txt", io.BytesIO(b"x"), 1)

    assert read.value.code == "NoSuchBucket"
    assert write.value.code == "NoSuchBucket"
    assert not client.bucket_exists("no-such-bucket")


def test_anonymous_requests_are_forbidden(
    server: EmbeddedSeaweedFS, client: Minio, bucket: str, stored_key: str
) -> None:
    base = f"http://{server.endpoint}/{bucket}"

    read = httpx.get(f"{base}/{stored_key}")
    write = httpx.put(f"{base}/anonymous.txt", content=b"x")

    assert read.status_code == 403
    assert "<Code>AccessDenied</Code>" in read.text
    assert write.status_code == 403
    with pytest.raises(S3Error) as missing:
        client.stat_object(bucket, "anonymous.txt")
    assert missing.value.code == "NoSuchKey"


def test_listens_on_loopback_only(server: EmbeddedSeaweedFS) -> None:
    assert server.pid is not None

    listening = listening_addresses(server.pid)

    assert {host for host, _ in listening} == {"127.0.0.1"}
    # Only ports chosen for it: none of weed's defaults (8333, 9333, 8181, 23646, ...).
    assert {port for _, port in listening} <= {server.s3_port, *server.ports.values()}
    assert ("127.0.0.1", server.s3_port) in listening


def test_objects_survive_a_restart(tmp_path: Path, http: urllib3.PoolManager) -> None:
    server = start_server(tmp_path / "seaweedfs")
    try:
        client = s3_client(server, http)
        client.make_bucket("kept")
        client.put_object("kept", "kept.txt", io.BytesIO(b"still here"), 10)

        stopping = time.monotonic()
        server.stop()
        print(f"SeaweedFS stop: {time.monotonic() - stopping:.2f}s")

        assert not server.running
        assert not server.ready()
        assert not port_accepts(server.s3_port)
        with pytest.raises(MaxRetryError):
            client.list_buckets()

        restarting = time.monotonic()
        server.start()
        print(f"SeaweedFS restart on its data: {time.monotonic() - restarting:.2f}s")

        assert read_object(client, "kept", "kept.txt") == b"still here"
    finally:
        server.stop()


def test_start_fails_with_weeds_log_when_a_port_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = EmbeddedSeaweedFS(
        tmp_path / "seaweedfs", s3_port=free_port(), access_key=ACCESS_KEY, secret_key=SECRET_KEY
    )
    # start() picks fresh ports; keep these, to stand for a port taken after they were picked.
    monkeypatch.setattr(server, "choose_ports", lambda: None)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", server.ports["master.port"]))
        squatter.listen()
        try:
            with pytest.raises(RuntimeError, match=r"weed exited with 1") as failure:
                server.start()
        finally:
            server.stop()

    assert "master.port" in str(failure.value)  # weed's own words, from the log tail
    assert not server.running


def test_start_refuses_an_s3_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        server = EmbeddedSeaweedFS(
            tmp_path / "seaweedfs", s3_port=port, access_key=ACCESS_KEY, secret_key=SECRET_KEY
        )

        with pytest.raises(RuntimeError, match=f"port {port} on 127.0.0.1 is already in use"):
            server.start()

    assert not server.running
