"""The edge over HTTPS, graded with the Mozilla HTTP Observatory's published rules.

Caddy serves `localhost` with a certificate from its own local CA (the test trusts that CA
only), and redirects plain HTTP to HTTPS, as it does for a real domain in production.
"""

import signal
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from devstack.postgres import free_port
from tests.conftest import REPO
from tests.edge.conftest import caddy_env, start_caddy
from tests.observatory import score


@dataclass
class HttpsEdge:
    https: str
    http: str
    ca: ssl.SSLContext


@pytest.fixture(scope="module")
def https_edge(
    api_process: str, admin_hash: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HttpsEdge]:
    state = tmp_path_factory.mktemp("caddy-https")
    https_port, http_port = free_port(), free_port()
    env = caddy_env(
        SITE_ADDRESS=f"localhost:{https_port}",
        CADDY_HTTPS_PORT=str(https_port),
        CADDY_HTTP_PORT=str(http_port),
        CADDY_BIND="127.0.0.1",
        CADDY_ADMIN=f"127.0.0.1:{free_port()}",
        CADDY_METRICS_PORT=str(free_port()),
        API_UPSTREAMS=api_process.removeprefix("http://"),
        WEBSITE_ROOT=str(REPO / "website"),
        ADMIN_PASSWORD_HASH=admin_hash,
        XDG_DATA_HOME=str(state / "data"),
        XDG_CONFIG_HOME=str(state / "config"),
    )
    process = start_caddy(env, state / "caddy.log")
    try:
        root = state / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
        yield HttpsEdge(
            https=f"https://localhost:{https_port}",
            http=f"http://localhost:{http_port}",
            ca=ssl.create_default_context(cafile=str(root)),
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def fetch(edge: HttpsEdge, path: str) -> httpx.Response:
    # Caddy listens on 127.0.0.1 only; pin IPv4 so "localhost" never tries ::1.
    transport = httpx.HTTPTransport(verify=edge.ca, local_address="127.0.0.1")
    with httpx.Client(transport=transport, timeout=30) as client:
        return client.get(f"{edge.https}{path}")


def redirects_to_https(edge: HttpsEdge, path: str) -> bool:
    """Plain HTTP answers with a permanent redirect to the same host and path over HTTPS.

    Caddy writes the HTTPS port into Location only when it differs from `https_port`; here both
    are the test's port, so Location carries none (in production both are 443).
    """
    transport = httpx.HTTPTransport(local_address="127.0.0.1")
    with httpx.Client(transport=transport, timeout=30) as client:
        response = client.get(f"{edge.http}{path}")
    location = response.headers.get("location")
    return response.status_code == 308 and location == f"https://localhost{path}"


@pytest.mark.parametrize("path", ["/", "/contact.html", "/api/contacts", "/docs"])
def test_site_and_api_grade_a_plus_with_no_penalties(https_edge: HttpsEdge, path: str) -> None:
    response = fetch(https_edge, path)
    assert response.status_code == 200
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    html = response.text if response.headers["content-type"].startswith("text/html") else None
    grade = score(
        headers=response.headers,
        html=html,
        https=True,
        redirects_http_to_https=redirects_to_https(https_edge, path),
        set_cookies=response.headers.get_list("set-cookie"),
        hostname="localhost",
    )
    assert grade.penalties == [], grade.penalties
    assert grade.grade == "A+", grade
