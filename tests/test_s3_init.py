"""`python -m app.s3_init` (compose's s3-init job): waits for S3, creates the bucket, idempotent."""

import os
import subprocess
import sys
import threading
import uuid

from minio import Minio

from devstack.seaweedfs import EmbeddedSeaweedFS
from tests.conftest import REPO, S3_ACCESS_KEY, S3_SECRET_KEY


def run_s3_init(server: EmbeddedSeaweedFS, bucket: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "S3_ENDPOINT": server.endpoint,
        "S3_ACCESS_KEY": S3_ACCESS_KEY,
        "S3_SECRET_KEY": S3_SECRET_KEY,
        "S3_BUCKET": bucket,
        "DB_STARTUP_TIMEOUT": "60",
    }
    return subprocess.run(
        [sys.executable, "-m", "app.s3_init"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_creates_the_bucket_once_and_again_is_a_no_op(seaweedfs: EmbeddedSeaweedFS) -> None:
    bucket = f"init-{uuid.uuid4().hex[:12]}"
    first = run_s3_init(seaweedfs, bucket)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"bucket {bucket} is ready" in first.stdout
    assert Minio(seaweedfs.endpoint, S3_ACCESS_KEY, S3_SECRET_KEY, secure=False).bucket_exists(
        bucket
    )
    again = run_s3_init(seaweedfs, bucket)
    assert again.returncode == 0, again.stdout + again.stderr


def test_waits_for_a_late_server(own_seaweedfs: EmbeddedSeaweedFS) -> None:
    own_seaweedfs.stop()
    starter = threading.Timer(2.0, own_seaweedfs.start)
    starter.start()
    try:
        result = run_s3_init(own_seaweedfs, "late")
    finally:
        starter.join()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "S3 not ready" in result.stdout
