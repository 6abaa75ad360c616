"""The edge with real Caddy in front of the real app: routes, headers, limits, auth, caching."""

import json
import re
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from devstack.caddy import CADDYFILE, caddy_binary
from tests.conftest import REPO, metric_value
from tests.edge.conftest import (
    ADMIN_PASSWORD,
    API_UPLOAD_LIMIT,
    EDGE_BODY_LIMIT,
    MAX_ATTACHMENTS,
    MAX_UPLOAD_BYTES,
    Edge,
    caddy_env,
    wait_until,
)

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
ADMIN_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
SITE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def assert_hardened(response: httpx.Response, *, csp: str = SITE_CSP) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.status_code)
    assert response.headers["content-security-policy"] == csp
    assert "camera=()" in response.headers["permissions-policy"]
    assert "server" not in response.headers
    assert "strict-transport-security" not in response.headers  # plain HTTP here


def adapt(**env: str) -> dict[str, object]:
    result = subprocess.run(
        [str(caddy_binary()), "adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        env=caddy_env(**env),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, object] = json.loads(result.stdout)
    return config


MODES = {
    "make run": {"SITE_ADDRESS": "http://127.0.0.1:8080", "CADDY_BIND": "127.0.0.1"},
    "compose": {"SITE_ADDRESS": ":8080", "CADDY_BIND": "0.0.0.0", "API_UPSTREAMS": "api:8000"},
    "production": {"SITE_ADDRESS": "contact.example.com", "CADDY_BIND": "0.0.0.0"},
}


@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
def test_caddyfile_validates_in_every_mode(mode: dict[str, str], admin_hash: str) -> None:
    env = caddy_env(ADMIN_PASSWORD_HASH=admin_hash, **mode)
    result = subprocess.run(
        [str(caddy_binary()), "validate", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


def test_production_mode_serves_https_and_redirects_http(admin_hash: str) -> None:
    config = json.dumps(adapt(ADMIN_PASSWORD_HASH=admin_hash, **MODES["production"]))
    assert '"contact.example.com"' in config
    # A bare domain makes Caddy obtain a certificate and redirect :80 to HTTPS by itself;
    # nothing in the adapted config turns that off.
    assert "automatic_https" not in config or '"disable":true' not in config.replace(" ", "")
    assert "Strict-Transport-Security" in config


def test_admin_password_hash_is_required() -> None:
    result = subprocess.run(
        [str(caddy_binary()), "validate", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        env=caddy_env(**MODES["compose"]),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "basic_auth" in result.stderr


def test_routes(site: httpx.Client) -> None:
    home = site.get("/")
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    api = site.get("/api/contacts")
    assert api.status_code == 200
    assert "items" in api.json()
    assert site.get("/docs").status_code == 200
    assert site.get("/openapi.json").json()["info"]["title"] == "Contact API"
    assert site.get("/health").json() == {"status": "ok"}
    assert site.get("/health/ready").status_code == 200
    assert site.get("/db-check").json()["ok"] is True
    hidden = site.get("/metrics")
    assert hidden.status_code == 404
    assert "http_requests_total" not in hidden.text


def oversized_form() -> tuple[bytes, dict[str, str]]:
    """A well-formed contact form the API would read to the end (three attachments within the
    API's own limits that together cross the edge's cap): its body and content-type header."""
    note = b"field notes, line after line\n" * (MAX_UPLOAD_BYTES // 32)
    form = httpx.Request(
        "POST",
        "http://edge/api/contact",
        data={"name": "Ada", "email": "ada@example.com", "message": "Three notes attached."},
        files=[
            ("files", (f"notes-{number}.txt", note, "text/plain"))
            for number in range(MAX_ATTACHMENTS + 1)
        ],
    )
    body = form.read()
    assert EDGE_BODY_LIMIT < len(body) < API_UPLOAD_LIMIT
    return body, {"content-type": form.headers["content-type"]}


def contact_posts_seen_by_api(edge: Edge, **status: str) -> float:
    exposition = httpx.get(f"{edge.api}/metrics").text
    return metric_value(
        exposition, "http_requests_total", method="POST", route="/api/contact", **status
    )


def test_every_response_is_hardened(site: httpx.Client) -> None:
    body, form = oversized_form()
    responses = {
        "website": site.get("/"),
        "api json": site.get("/api/contacts"),
        "api 404": site.get("/api/contacts/00000000-0000-0000-0000-000000000000"),
        "static 404": site.get("/no-such-page.html"),
        "401": site.get("/grafana/"),
        "413": site.post("/api/contact", content=body, headers=form),
        "502": site.get("/prometheus/", auth=("admin", ADMIN_PASSWORD)),
    }
    assert [r.status_code for r in responses.values()] == [200, 200, 404, 404, 401, 413, 502]
    for name, response in responses.items():
        admin_route = name in {"401", "502"}
        assert_hardened(response, csp=ADMIN_CSP if admin_route else SITE_CSP)


def test_body_declared_over_the_edge_limit_never_reaches_the_api(
    site: httpx.Client, edge: Edge
) -> None:
    seen = contact_posts_seen_by_api(edge)
    body, form = oversized_form()
    response = site.post("/api/contact", content=body, headers=form)
    assert response.request.headers["content-length"] == str(len(body))
    assert response.status_code == 413
    # Caddy's answer, not the API's JSON one: the API's own limit is higher.
    assert response.text == "413 Request Entity Too Large"
    assert contact_posts_seen_by_api(edge) == seen


def test_streamed_body_over_the_edge_limit_is_cut_off_by_caddy(
    site: httpx.Client, edge: Edge
) -> None:
    hung_up = contact_posts_seen_by_api(edge, status="499")
    failed = contact_posts_seen_by_api(edge, status="500")
    body, form = oversized_form()

    def chunks() -> Iterator[bytes]:  # no length declared: sent chunked
        for offset in range(0, len(body), 64 * 1024):
            yield body[offset : offset + 64 * 1024]

    response = site.post("/api/contact", content=chunks(), headers=form)
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413
    assert response.text == "413 Request Entity Too Large"
    # The API had been reading the body when Caddy cut it off: to the API the client hung up.
    wait_until(
        lambda: contact_posts_seen_by_api(edge, status="499") == hung_up + 1,
        "the API recording the cut-off request",
        timeout=10,
    )
    assert contact_posts_seen_by_api(edge, status="500") == failed


def test_body_within_the_edge_limit_reaches_the_api(site: httpx.Client, edge: Edge) -> None:
    seen = contact_posts_seen_by_api(edge)
    body, form = oversized_form()
    within = body[: EDGE_BODY_LIMIT - 100]  # cut short: the API says what is wrong
    response = site.post("/api/contact", content=within, headers=form)
    assert response.status_code == 400
    assert response.json()["error"]["code"]
    assert contact_posts_seen_by_api(edge) == seen + 1


def test_admin_ui_needs_basic_auth(site: httpx.Client) -> None:
    assert site.get("/grafana/").status_code == 401
    assert site.get("/grafana/", auth=("admin", "wrong")).status_code == 401
    assert site.get("/grafana/", auth=("nobody", ADMIN_PASSWORD)).status_code == 401
    ok = site.get("/grafana/api/health", auth=("admin", ADMIN_PASSWORD))
    assert ok.status_code == 200
    assert ok.text == "admin-ui saw /grafana/api/health"  # prefix kept: Grafana serves the sub-path
    assert "'unsafe-inline'" in ok.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in ok.headers["content-security-policy"]
    console = site.get("/s3-console/buckets", auth=("admin", ADMIN_PASSWORD))
    assert console.text == "admin-ui saw /buckets"  # prefix stripped: the UI knows no sub-path


def test_service_not_running_gets_a_clear_page_quickly(site: httpx.Client) -> None:
    started = time.monotonic()
    response = site.get("/alertmanager/", auth=("admin", ADMIN_PASSWORD))
    assert time.monotonic() - started < 10  # a hang guard, not a speed target
    assert response.status_code == 502
    assert "not running" in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_compression(site: httpx.Client) -> None:
    for encoding in ("zstd", "gzip"):
        response = site.get("/openapi.json", headers={"accept-encoding": encoding})
        assert response.headers["content-encoding"] == encoding
    plain = site.get("/openapi.json", headers={"accept-encoding": "identity"})
    gzipped = site.get("/openapi.json", headers={"accept-encoding": "gzip"})
    assert gzipped.json() == plain.json()  # httpx decodes gzip
    assert gzipped.num_bytes_downloaded < len(plain.content) / 2


def test_cache_headers(site: httpx.Client) -> None:
    assets = sorted((REPO / "website").rglob("*.*"))
    fingerprinted = [p for p in assets if re.search(r"\.[0-9a-f]{8,}\.(css|js)$", p.name)]
    assert fingerprinted, "the website has no fingerprinted assets"
    path = "/" + fingerprinted[0].relative_to(REPO / "website").as_posix()
    asset = site.get(path)
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert site.get("/").headers["cache-control"] == "no-cache"


def test_request_id_reaches_the_api_and_the_access_log(site: httpx.Client, edge: Edge) -> None:
    response = site.get("/health", headers={"x-request-id": "client-chosen"})
    request_id = response.headers["x-request-id"]
    # The edge assigns its own ID (a client cannot choose what appears in the logs) ...
    assert re.fullmatch(r"[0-9a-f-]{36}", request_id)
    # ... and its access log line carries the same one.
    deadline = time.monotonic() + 10
    while request_id not in edge.log_file.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    lines = [
        json.loads(line) for line in edge.log_file.read_text().splitlines() if request_id in line
    ]
    access = [line for line in lines if line.get("logger", "").startswith("http.log.access")]
    assert access
    assert access[0]["request_id"] == request_id
    assert access[0]["request"]["uri"] == "/health"


def test_client_address_reaches_the_api(site: httpx.Client) -> None:
    created = site.post(
        "/api/contact",
        json={"name": "Ada", "email": "ada@example.com", "subject": "s", "message": "m"},
    )
    assert created.status_code == 201
    assert created.json()["metadata"]["client_ip"] == "127.0.0.1"
    assert created.headers["location"].startswith("/api/contacts/")


def test_website_files_are_served_from_the_repo(site: httpx.Client) -> None:
    index = (REPO / "website" / "index.html").read_bytes()
    assert site.get("/index.html", headers={"accept-encoding": "identity"}).content == index


def test_caddy_metrics_on_their_own_port(edge: Edge, site: httpx.Client) -> None:
    site.get("/")
    metrics = httpx.get(f"http://127.0.0.1:{edge.env['CADDY_METRICS_PORT']}/metrics")
    assert metrics.status_code == 200
    assert "caddy_http_requests_total" in metrics.text
    assert site.get("/metrics").status_code == 404  # and never on the public site
