"""Admin notifications about new contacts: logged, sent through AWS SES, or switched off."""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import anyio.to_thread
import boto3
from boto3.exceptions import Boto3Error
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from app.config import Settings

logger = logging.getLogger(__name__)

# An outage should fail fast: the durable job that calls us does the patient retrying.
SES_TIMEOUT_SECONDS = 5
SES_MAX_ATTEMPTS = 2


@dataclass(frozen=True, slots=True)
class NewContactNotice:
    contact_id: UUID
    name: str
    email: str
    subject: str
    message: str
    tags: list[str]
    attachment_names: list[str]
    created_at: datetime


class NotificationError(Exception):
    """Sending failed (service unreachable or message refused); the caller retries later."""


class Notifier(Protocol):
    async def send_new_contact(self, notice: NewContactNotice) -> None: ...

    async def close(self) -> None: ...


class LogNotifier:
    """Writes one line per contact: enough to find it, without its personal content."""

    async def send_new_contact(self, notice: NewContactNotice) -> None:
        logger.info(
            "new contact %s: subject=%r attachments=%d",
            notice.contact_id,
            header_text(notice.subject),
            len(notice.attachment_names),
        )

    async def close(self) -> None:
        return None


class NullNotifier:
    async def send_new_contact(self, notice: NewContactNotice) -> None:
        return None

    async def close(self) -> None:
        return None


class SesNotifier:
    """Sends a plain-text e-mail to the admin through SES, replying to the contact."""

    def __init__(self, settings: Settings) -> None:
        credentials: dict[str, str] = {}
        if settings.ses_access_key_id:
            if settings.ses_secret_access_key is None:
                raise ValueError("SES_ACCESS_KEY_ID is set but SES_SECRET_ACCESS_KEY is not")
            credentials = {
                "aws_access_key_id": settings.ses_access_key_id,
                "aws_secret_access_key": settings.ses_secret_access_key.get_secret_value(),
            }
        config = Config(
            connect_timeout=SES_TIMEOUT_SECONDS,
            read_timeout=SES_TIMEOUT_SECONDS,
            retries={"mode": "standard", "max_attempts": SES_MAX_ATTEMPTS},
        )
        # Own session: the process-wide default session is shared mutable state.
        self._client: Any = boto3.session.Session().client(
            "ses",
            region_name=settings.ses_region,
            endpoint_url=settings.ses_endpoint_url,
            config=config,
            **credentials,
        )
        self._sender = settings.ses_sender
        self._recipient = settings.ses_recipient

    async def send_new_contact(self, notice: NewContactNotice) -> None:
        request = {
            "Source": self._sender,
            "Destination": {"ToAddresses": [self._recipient]},
            "ReplyToAddresses": [notice.email],
            "Message": {
                "Subject": {
                    "Data": header_text(f"New contact: {notice.subject}"),
                    "Charset": "UTF-8",
                },
                "Body": {"Text": {"Data": render_body(notice), "Charset": "UTF-8"}},
            },
        }
        try:
            # Abandoned on cancellation so shutdown never waits on SES; timeouts end the thread.
            await anyio.to_thread.run_sync(
                lambda: self._client.send_email(**request), abandon_on_cancel=True
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            raise NotificationError(f"SES refused the message: {code}") from exc
        except (BotoCoreError, Boto3Error) as exc:
            raise NotificationError(f"SES unreachable: {type(exc).__name__}") from exc

    async def close(self) -> None:
        self._client.close()


def header_text(value: str) -> str:
    """One line: CR, LF and other line breaks would let text start a new header."""
    return " ".join(part.strip() for part in value.splitlines() if part.strip())


def render_body(notice: NewContactNotice) -> str:
    return "\n".join(
        [
            "A new contact was submitted.",
            "",
            f"Name: {notice.name}",
            f"Email: {notice.email}",
            f"Subject: {notice.subject}",
            f"Tags: {', '.join(notice.tags) or 'none'}",
            f"Attachments: {', '.join(notice.attachment_names) or 'none'}",
            f"Received: {notice.created_at.isoformat()}",
            f"Contact ID: {notice.contact_id}",
            "",
            "Message:",
            notice.message,
        ]
    )


def make_notifier(settings: Settings) -> Notifier:
    """The notifier that NOTIFY_BACKEND selects."""
    if settings.notify_backend == "ses":
        return SesNotifier(settings)
    if settings.notify_backend == "log":
        return LogNotifier()
    return NullNotifier()
