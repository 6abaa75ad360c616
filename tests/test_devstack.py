"""`make run` (python -m devstack): the no-Docker stack from nothing, on real PostgreSQL."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import metric_value
from tests.pdfs import make_pdf
from tests.stack import Stack, port_open, running

pytestmark = pytest.mark.slow


def test_run_from_nothing_then_again_reusing_the_data(server_dir: Path) -> None:
    stack = Stack(server_dir / "data")
    with running(stack):
        created = httpx.post(
            f"{stack.url}/api/contact",
            json={"name": "Ada", "email": "ada@example.com", "subject": "s", "message": "m"},
            # As the edge proxy on 127.0.0.1 forwards it: the client's address is the visitor's.
            headers={"x-forwarded-for": "203.0.113.7"},
        )
        assert created.status_code == 201
        assert created.json()["metadata"]["client_ip"] == "203.0.113.7"
        metrics = httpx.get(f"{stack.url}/metrics").text
        assert metric_value(metrics, "contact_submissions_total", source="api") == 1
        assert stack.stop() == 0
    assert not port_open(stack.api_port), "API still listening after Ctrl-C"
    assert not port_open(stack.pg_port), "PostgreSQL still running after Ctrl-C"
    assert not port_open(stack.s3_port), "SeaweedFS still running after Ctrl-C"
    assert not port_open(stack.http_port), "Caddy still running after Ctrl-C"
    assert (stack.data_dir / "postgres" / "PG_VERSION").exists()

    again = Stack(stack.data_dir)
    with running(again):
        fetched = httpx.get(f"{again.url}/api/contacts/{created.json()['id']}")
        assert fetched.status_code == 200
        assert fetched.json() == created.json()
        assert again.stop() == 0
    log = again.log.read_text()
    assert "first boot" not in log  # the second run reused the cluster


def test_metrics_add_up_across_workers(server_dir: Path) -> None:
    requests = 40
    with running(Stack(server_dir / "data", workers=2)) as stack:

        def scrape() -> float:
            # A new connection each time, so scrapes land on either worker.
            text = httpx.get(f"{stack.url}/metrics", headers={"connection": "close"}).text
            return metric_value(
                text, "http_requests_total", method="GET", route="/health", status="200"
            )

        before = scrape()
        for _ in range(requests):
            response = httpx.get(f"{stack.url}/health", headers={"connection": "close"})
            assert response.status_code == 200
        totals = {scrape() for _ in range(10)}
    assert totals == {before + requests}


def test_ctrl_c_lets_in_flight_requests_finish(server_dir: Path) -> None:
    """A request still uploading when Ctrl-C arrives completes with 201 before anything stops."""
    stack = Stack(server_dir / "data")
    first_chunk_sent = threading.Event()
    result: dict[str, httpx.Response | BaseException] = {}

    def slow_body() -> Iterator[bytes]:
        yield b'{"name": "Slow", "email": "slow@example.com", '
        first_chunk_sent.set()
        time.sleep(2)  # Ctrl-C lands while the body is still arriving
        yield b'"subject": "s", "message": "m"}'

    def send() -> None:
        try:
            result["response"] = httpx.post(
                f"{stack.url}/api/contact",
                content=slow_body(),
                headers={"content-type": "application/json"},
                timeout=30,
            )
        except BaseException as exc:
            result["response"] = exc

    with running(stack):
        sender = threading.Thread(target=send)
        sender.start()
        assert first_chunk_sent.wait(10)
        time.sleep(0.3)
        assert stack.stop() == 0
        sender.join(30)
    response = result["response"]
    assert isinstance(response, httpx.Response), response
    assert response.status_code == 201


def test_pdf_contact_is_stored_in_s3_downloadable_and_found(server_dir: Path) -> None:
    """What a person does after `make run`: send a PDF, get it back, find a word from it."""
    pdf = make_pdf(["The albatross migrates across the southern ocean."], title="Seabirds")
    with running(Stack(server_dir / "data")) as stack:
        home = httpx.get(f"{stack.site}/")
        assert home.status_code == 200
        assert "text/html" in home.headers["content-type"]
        assert home.headers["x-content-type-options"] == "nosniff"
        created = httpx.post(
            f"{stack.site}/api/contact",
            data={"name": "Ada", "email": "ada@example.com", "subject": "s", "message": "m"},
            files={"files": ("birds.pdf", pdf, "application/pdf")},
        )
        assert created.status_code == 201, created.text
        attachment = created.json()["attachments"][0]
        download = httpx.get(f"{stack.site}{attachment['download_url']}")
        assert download.content == pdf
        ready = httpx.get(f"{stack.url}/health/ready").json()
        assert ready["checks"]["storage"] == {
            "ok": True,
            "critical": False,
            "latency_ms": ready["checks"]["storage"]["latency_ms"],
            "detail": "s3",
        }
        hits: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while not hits and time.monotonic() < deadline:
            time.sleep(0.3)
            found = httpx.get(f"{stack.site}/api/documents/search", params={"q": "albatross"})
            hits = found.json()["hits"]
        assert [hit["document"]["id"] for hit in hits] == [attachment["id"]]
        stack.stop()
    assert (stack.data_dir / "seaweedfs").is_dir()
