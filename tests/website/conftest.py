"""Real headless Chromium (Debian's, driven by Playwright) against the real stack behind Caddy.

One stack (`python -m devstack`: PostgreSQL, SeaweedFS, API with its worker, Caddy) per test
module; a module changes its settings by overriding the `stack_env` fixture.
"""

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    sync_playwright,
)

from tests.stack import Stack, running

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
# Playwright waits this long (ms) for an element or a navigation before failing a test.
TIMEOUT_MS = 10_000
# CSP violations are console errors already; this makes each one name its directive.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: install Debian's chromium (CI does); "
            "these tests never download a browser"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def stack_env() -> dict[str, str]:
    """Extra environment for the module's stack (override in a module)."""
    return {}


@pytest.fixture(scope="module")
def stack(stack_env: dict[str, str]) -> Iterator[Stack]:
    # Not pytest's tmp_path: PostgreSQL runs as another user and cannot enter it.
    base = Path(tempfile.mkdtemp(prefix="pytest-servers-"))
    try:
        with running(Stack(base / "data", env=stack_env)) as started:
            yield started
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    """The API as the browser reaches it: through the edge."""
    with httpx.Client(base_url=stack.site, timeout=30) as client:
        yield client


def new_context(browser: Browser, stack: Stack, viewport: ViewportSize) -> BrowserContext:
    context = browser.new_context(base_url=stack.site, viewport=viewport, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    return context


@pytest.fixture
def context(browser: Browser, stack: Stack) -> Iterator[BrowserContext]:
    context = new_context(browser, stack, DESKTOP)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def watch_problems(page: Page) -> list[str]:
    """Console errors and warnings, uncaught exceptions and failed requests, as they happen."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in {"error", "warning"}:
            problems.append(f"console {message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
    page.on(
        "response",
        lambda response: (
            problems.append(f"HTTP {response.status}: {response.url}")
            if response.status >= 400
            else None
        ),
    )
    return problems


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not after {timeout:.0f}s")
        time.sleep(0.25)


def documents_found(api: httpx.Client, query: str, expected: int) -> Callable[[], bool]:
    """A check that the search API finds `expected` processed documents for `query`."""

    def check() -> bool:
        found = api.get("/api/documents/search", params={"q": query, "limit": 100}).json()
        return found["total"] == expected and all(
            hit["document"]["processing_status"] == "completed" for hit in found["hits"]
        )

    return check
