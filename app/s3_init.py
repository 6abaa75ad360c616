"""`python -m app.s3_init`: wait for the S3 server, then create the bucket if missing.

The one-shot `s3-init` service in compose; idempotent, so it can run on every `up`.
"""

import asyncio
import logging
import time

from app.config import load_settings
from app.logs import configure_logging
from app.storage import S3Storage, StorageUnavailableError

logger = logging.getLogger(__name__)


async def init_bucket(storage: S3Storage, *, within: float) -> None:
    """Retry with backoff until the bucket exists (created here, or by someone else)."""
    deadline = time.monotonic() + within
    delay = 0.5
    while True:
        try:
            await storage.setup()
            await storage.check()
        except StorageUnavailableError as exc:
            if time.monotonic() + delay > deadline:
                raise SystemExit(f"S3 not ready after {within:.0f}s: {exc.reason}") from exc
            logger.warning("S3 not ready (%s); retrying in %.1fs", exc.reason, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        else:
            logger.info("bucket %s is ready", storage.bucket)
            return


def main() -> None:
    settings = load_settings(storage_backend="s3", s3_create_bucket=True)
    configure_logging(level=settings.log_level, fmt=settings.log_format, service="s3-init")
    asyncio.run(init_bucket(S3Storage(settings), within=settings.db_startup_timeout))


if __name__ == "__main__":
    main()
