"""Notifiers against a real SES-compatible server: moto in server mode, on loopback, over HTTP."""

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from uuid import UUID, uuid4

import anyio
import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from app.config import Settings
from app.notifications import (
    LogNotifier,
    NewContactNotice,
    NotificationError,
    NullNotifier,
    SesNotifier,
    make_notifier,
)
from devstack.postgres import free_port

pytestmark = pytest.mark.anyio

SENDER = "no-reply@example.com"
RECIPIENT = "admin@example.com"
REGION = "eu-west-1"


def start_moto() -> tuple[ThreadedMotoServer, str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server, url = start_moto()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def ses_url(moto_url: str) -> str:
    """The server with no identities and no sent messages (moto keeps state per process)."""
    httpx.post(f"{moto_url}/moto-api/reset").raise_for_status()
    return moto_url


@pytest.fixture
def verified_url(ses_url: str) -> str:
    """The server, with the sender verified the way an operator would verify it."""
    ses_client(ses_url).verify_email_identity(EmailAddress=SENDER)
    return ses_url


def ses_client(url: str) -> Any:
    return boto3.session.Session().client(
        "ses",
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def ses_settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "notify_backend": "ses",
        "ses_region": REGION,
        "ses_endpoint_url": url,
        "ses_access_key_id": "testing",
        "ses_secret_access_key": "testing",
        "ses_sender": SENDER,
        "ses_recipient": RECIPIENT,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
async def notifier(verified_url: str) -> AsyncIterator[SesNotifier]:
    notifier = SesNotifier(ses_settings(verified_url))
    yield notifier
    await notifier.close()


def make_notice(**overrides: Any) -> NewContactNotice:
    values: dict[str, Any] = {
        "contact_id": UUID("6f1c2a9e-4b7d-4e55-9a40-2c8e1d3b7f10"),
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "subject": "Engine question",
        "message": "Could the engine compose music?\nRegards, Ada — ✓",
        "tags": ["sales", "music"],
        "attachment_names": ["notes.pdf", "diagram.png"],
        "created_at": datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
    }
    values.update(overrides)
    return NewContactNotice(**values)


async def sent_messages(url: str) -> list[dict[str, Any]]:
    """What moto recorded as sent, read over HTTP from its inspection API."""
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{url}/moto-api/data.json")
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json()["ses"]["Message"]
    return messages


def capture_send_email(notifier: SesNotifier) -> list[dict[str, list[str]]]:
    """The SendEmail form fields the client puts on the wire; the requests still reach moto.

    moto's record of a sent message has no reply-to, so that part is checked on the request.
    """
    captured: list[dict[str, list[str]]] = []

    def record(request: Any, **_: Any) -> None:
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        captured.append(parse_qs(body))

    notifier._client.meta.events.register("before-send.ses.SendEmail", record)
    return captured


async def test_ses_delivers_one_message_to_the_admin(
    notifier: SesNotifier, verified_url: str
) -> None:
    requests = capture_send_email(notifier)

    await notifier.send_new_contact(make_notice())

    [message] = await sent_messages(verified_url)
    assert message["source"] == SENDER
    assert message["destinations"] == {"ToAddresses": [RECIPIENT]}
    assert message["subject"] == "New contact: Engine question"
    body = message["body"]
    assert "Ada Lovelace" in body
    assert "ada@example.com" in body
    assert "Could the engine compose music?\nRegards, Ada — ✓" in body
    assert "notes.pdf" in body
    assert "diagram.png" in body
    assert "sales, music" in body
    assert str(make_notice().contact_id) in body
    [request] = requests
    assert request["ReplyToAddresses.member.1"] == ["ada@example.com"]
    assert "ReplyToAddresses.member.2" not in request


async def test_ses_subject_cannot_inject_a_header(notifier: SesNotifier, verified_url: str) -> None:
    requests = capture_send_email(notifier)

    await notifier.send_new_contact(make_notice(subject="Hello\r\nBcc: eve@example.com\n"))

    [message] = await sent_messages(verified_url)
    assert message["subject"] == "New contact: Hello Bcc: eve@example.com"
    assert message["destinations"] == {"ToAddresses": [RECIPIENT]}
    [request] = requests
    assert request["Message.Subject.Data"] == ["New contact: Hello Bcc: eve@example.com"]
    assert not any(key.startswith("Destination.BccAddresses") for key in request)


async def test_ses_unverified_sender_is_a_notification_error(ses_url: str) -> None:
    notifier = SesNotifier(ses_settings(ses_url))
    try:
        with pytest.raises(NotificationError, match="MessageRejected"):
            await notifier.send_new_contact(make_notice())
    finally:
        await notifier.close()
    assert await sent_messages(ses_url) == []


async def test_ses_server_down_is_a_notification_error_not_a_hang() -> None:
    server, url = start_moto()
    ses_client(url).verify_email_identity(EmailAddress=SENDER)
    notifier = SesNotifier(ses_settings(url))
    server.stop()
    try:
        with anyio.fail_after(30), pytest.raises(NotificationError, match="unreachable"):
            await notifier.send_new_contact(make_notice())
    finally:
        await notifier.close()


def test_ses_access_key_without_secret_is_refused() -> None:
    settings = ses_settings("http://127.0.0.1:9", ses_secret_access_key=None)
    with pytest.raises(ValueError, match="SES_SECRET_ACCESS_KEY"):
        SesNotifier(settings)


async def test_log_notifier_logs_id_not_content(caplog: pytest.LogCaptureFixture) -> None:
    notice = make_notice(contact_id=uuid4())
    with caplog.at_level(logging.INFO, logger="app.notifications"):
        await LogNotifier().send_new_contact(notice)

    [record] = [r for r in caplog.records if r.name == "app.notifications"]
    assert record.levelno == logging.INFO
    line = record.getMessage()
    assert str(notice.contact_id) in line
    assert "attachments=2" in line
    assert "Could the engine" not in line
    assert "ada@example.com" not in line


async def test_none_backend_sends_and_logs_nothing(
    verified_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Fully configured for SES, yet switched off: nothing may reach the server.
    notifier = make_notifier(ses_settings(verified_url, notify_backend="none"))
    with caplog.at_level(logging.DEBUG, logger="app.notifications"):
        await notifier.send_new_contact(make_notice())
    await notifier.close()

    assert isinstance(notifier, NullNotifier)
    assert await sent_messages(verified_url) == []
    assert [r for r in caplog.records if r.name == "app.notifications"] == []


@pytest.mark.parametrize(
    ("backend", "expected"),
    [("log", LogNotifier), ("ses", SesNotifier), ("none", NullNotifier)],
)
async def test_make_notifier_picks_the_configured_backend(
    backend: str, expected: type[object]
) -> None:
    notifier = make_notifier(ses_settings("http://127.0.0.1:9", notify_backend=backend))
    try:
        assert type(notifier) is expected
    finally:
        await notifier.close()
