"""The admin e-mail as durable work: an SES outage delays it, nothing loses it, it goes once."""

import socket
from typing import Any

import httpx
import psycopg
import pytest
from moto.server import ThreadedMotoServer

from app.jobs.service import Worker
from app.worker import TASKS
from tests.conftest import make_settings, running_app
from tests.test_notifications import RECIPIENT, REGION, SENDER, ses_client, start_moto

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def sent_messages(url: str) -> list[dict[str, Any]]:
    data = httpx.get(f"{url}/moto-api/data.json").json()
    messages: list[dict[str, Any]] = data.get("ses", {}).get("Message", [])
    return messages


async def test_notification_survives_an_ses_outage_and_is_sent_once(
    database_conninfo: str, db: psycopg.Connection[Any]
) -> None:
    server, url = start_moto()
    httpx.post(f"{url}/moto-api/reset").raise_for_status()
    ses_client(url).verify_email_identity(EmailAddress=SENDER)
    host, port = server.get_host_and_port()
    server.stop()  # SES is down when the contact arrives ...
    # ... and its port stays ours meanwhile: bound, not listening, so connections are refused
    # and no server another test starts can take it.
    outage = socket.socket()
    outage.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    outage.bind((host, port))
    settings = make_settings(
        database_conninfo,
        notify_backend="ses",
        ses_region=REGION,
        ses_endpoint_url=url,
        ses_access_key_id="testing",
        ses_secret_access_key="testing",
        ses_sender=SENDER,
        ses_recipient=RECIPIENT,
        # Retries wait long enough that one drain makes exactly one attempt; the test then
        # makes the retry due itself.
        job_retry_base_seconds=60,
        job_retry_max_seconds=60,
    )
    async with running_app(settings) as (app, client):
        response = await client.post(
            "/api/contact",
            json={"name": "Ada", "email": "ada@example.com", "subject": "Hi", "message": "Yo"},
        )
        assert response.status_code == 201
        worker = Worker(app.state.resources, TASKS)
        await worker.drain()
        job = db.execute("SELECT status, attempts, last_error FROM jobs").fetchone()
        assert job is not None
        assert job[0:2] == ("pending", 1)
        assert job[2].startswith("NotificationError: SES unreachable")

        outage.close()
        server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        server.start()
        try:
            db.execute("UPDATE jobs SET run_at = now()")
            assert await worker.drain() == 1
            assert db.execute("SELECT status FROM jobs").fetchone() == ("done",)
            messages = sent_messages(url)
            assert len(messages) == 1
            assert messages[0]["subject"] == "New contact: Hi"
            assert messages[0]["destinations"] == {"ToAddresses": [RECIPIENT]}
            # Delivered again (a requeue, a crash after sending): nothing more is sent.
            db.execute("UPDATE jobs SET status = 'pending', run_at = now()")
            assert await worker.drain() == 1
            assert len(sent_messages(url)) == 1
        finally:
            server.stop()
