"""Every page in a real browser: no console errors under the CSP, accessible structure,
the search page's results, pages and errors, and screenshots at desktop and phone sizes."""

import json
import os
import re
import struct
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.conftest import REPO
from tests.pdfs import make_pdf
from tests.stack import Stack
from tests.website.conftest import (
    DESKTOP,
    PHONE,
    documents_found,
    new_context,
    wait_for,
    watch_problems,
)

pytestmark = pytest.mark.slow

# `make screenshots` (UPDATE_SCREENSHOTS=1) refreshes the README's pictures; otherwise the test
# takes and checks them in a temporary folder, so a test run leaves the working tree as it was.
DOC_SCREENSHOTS = REPO / "docs" / "screenshots"
PAGES = {"home": "/", "contact": "/contact.html", "search": "/search.html?q=harbour"}
# Structure every page must have, checked in the page itself.
STRUCTURE = """() => ({
  lang: document.documentElement.lang,
  h1: document.querySelectorAll("h1").length,
  landmarks: ["header", "nav", "main", "footer"].filter((tag) => !document.querySelector(tag)),
  unlabelled: [...document.querySelectorAll("input, select, textarea")]
    .filter((field) => field.labels.length === 0 && !field.getAttribute("aria-label"))
    .map((field) => field.id || field.name),
  imagesWithoutAlt: [...document.querySelectorAll("img")]
    .filter((img) => !img.hasAttribute("alt")).length,
  skipTarget: document.querySelector(".skip-link")?.getAttribute("href"),
})"""


@pytest.fixture(scope="module")
def documents(stack: Stack) -> None:
    """Searchable documents: a PDF and a Markdown file about a harbour, and eleven text files
    about a lighthouse (two result pages), one with markup and entities in its text."""
    with httpx.Client(base_url=stack.site, timeout=30) as api:
        pdf = make_pdf(
            [
                "Quarterly report for the harbour project. Revenue grew in every region; the "
                "harbour crane budget needs a review before the next quarter.",
                "Appendix: harbour tariffs by berth, and the pilots' schedule.",
            ],
            title="Harbour report",
        )
        notes = (
            b"# Harbour notes\n\nThe harbour crane needs new cables. See the quarterly report.\n"
        )
        created = api.post(
            "/api/contact",
            data={"name": "Ada", "email": "ada@example.com", "subject": "Report", "message": "Hi"},
            files=[
                ("files", ("harbour-report-2026.pdf", pdf, "application/pdf")),
                ("files", ("harbour-notes.md", notes, "text/markdown")),
            ],
        )
        assert created.status_code == 201, created.text
        logs = [
            (f"lighthouse-{n:02d}.txt", f"Lighthouse keeper log {n}: the lamp was lit.".encode())
            for n in range(10)
        ]
        logs.append(
            ("lighthouse-markup.txt", b"Lighthouse & <b>bold</b> <img src=x onerror=alert(1)>")
        )
        for start in range(0, len(logs), 5):
            batch = [
                ("files", (name, body, "text/plain")) for name, body in logs[start : start + 5]
            ]
            response = api.post(
                "/api/contact",
                data={"name": "Ada", "email": "ada@example.com", "subject": "Log", "message": "m"},
                files=batch,
            )
            assert response.status_code == 201, response.text
        wait_for(documents_found(api, "harbour", 2), "harbour documents processed")
        wait_for(documents_found(api, "lighthouse", 11), "lighthouse documents processed")


@pytest.mark.parametrize(
    "path",
    ["/", "/contact.html", "/search.html", "/search.html?q=harbour&content_type=text%2Fmarkdown"],
)
def test_page_loads_cleanly_under_the_csp(page: Page, path: str, documents: None) -> None:
    problems = watch_problems(page)
    response = page.goto(path)
    assert response is not None
    assert response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "style-src 'self';" in csp
    assert "unsafe-inline" not in csp
    page.wait_for_load_state("networkidle")
    if path.startswith("/search.html?"):
        expect(page.locator("#hits > li")).to_have_count(1)
    structure = page.evaluate(STRUCTURE)
    assert structure == {
        "lang": "en",
        "h1": 1,
        "landmarks": [],
        "unlabelled": [],
        "imagesWithoutAlt": 0,
        "skipTarget": "#main",
    }
    assert problems == []


def test_search_results_pages_and_safe_snippets(page: Page, documents: None) -> None:
    page.goto("/search.html?q=lighthouse")
    hits = page.locator("#hits > li")
    expect(hits).to_have_count(10)
    expect(page.locator("#result-count")).to_have_text(
        "Showing 1\u201310 of 11 documents matching \u201clighthouse\u201d."
    )
    expect(page.locator("#page-status")).to_have_text("Page 1 of 2")
    expect(page.locator("#previous")).to_be_hidden()  # no earlier page

    page.click("#next")
    expect(page).to_have_url(re.compile(r"\?q=lighthouse&offset=10$"))
    expect(hits).to_have_count(1)
    expect(page.locator("#results-title")).to_be_focused()
    expect(page.locator("#page-status")).to_have_text("Page 2 of 2")
    expect(page.locator("#next")).to_be_hidden()

    page.go_back()
    expect(page).to_have_url(re.compile(r"\?q=lighthouse$"))
    expect(hits).to_have_count(10)

    # Markup in a document is text on the page: entities decoded, no elements made from it.
    page.goto("/search.html?q=bold")
    snippet = page.locator("#hits > li .snippet")
    # (PostgreSQL's headline drops tag-like words such as <b>; the rest stays as text.)
    expect(snippet).to_contain_text("Lighthouse &")
    expect(snippet).to_contain_text("<img src=x onerror=alert")
    expect(snippet.locator("mark")).to_have_text("bold")
    expect(snippet.locator("b, img")).to_have_count(0)


def test_search_filters_are_in_the_url(page: Page, documents: None) -> None:
    page.goto("/search.html")
    expect(page.locator("#result-count")).to_have_text("Enter a word to search the documents.")
    page.fill("#q", "harbour")
    page.select_option("#content-type", "application/pdf")
    page.click("#search-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"\?q=harbour&content_type=application%2Fpdf$"))
    expect(page.locator("#hits > li")).to_have_count(1)
    expect(page.locator("#hits .hit-title")).to_have_text("harbour-report-2026.pdf")

    page.fill("#q", "zeppelin")
    page.press("#q", "Enter")
    expect(page.locator("#empty")).to_be_visible()
    expect(page.locator("#hits > li")).to_have_count(0)


def test_search_unavailable_is_explained(page: Page) -> None:
    """With Meilisearch down the API answers 503 search_unavailable (stubbed here: this stack
    searches in PostgreSQL, which cannot fail alone)."""

    def unavailable(route: Route) -> None:
        route.fulfill(
            status=503,
            headers={"Retry-After": "5", "Content-Type": "application/json"},
            body=json.dumps(
                {
                    "error": {
                        "code": "search_unavailable",
                        "message": "search is unavailable",
                        "details": None,
                    }
                }
            ),
        )

    page.route("**/api/documents/search?*", unavailable)
    page.goto("/search.html?q=harbour")
    error = page.locator("#search-error")
    expect(error).to_have_text("Search is temporarily unavailable. Please try again in 5 seconds.")
    expect(error).to_have_attribute("role", "alert")
    expect(page.locator("#hits > li")).to_have_count(0)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_screenshots(browser: Browser, stack: Stack, documents: None, tmp_path: Path) -> None:
    folder = DOC_SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    for device, viewport in {"desktop": DESKTOP, "phone": PHONE}.items():
        context = new_context(browser, stack, viewport)
        try:
            page = context.new_page()
            for name, path in PAGES.items():
                page.goto(path)
                if name == "contact":
                    expect(page.locator("#files-hint")).to_contain_text("25 MB each")
                if name == "search":
                    expect(page.locator("#hits > li")).to_have_count(2)
                # Nothing sticks out sideways (no horizontal scrolling on a phone).
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= viewport["width"], (name, device, width)
                target = folder / f"{name}-{device}.png"
                page.screenshot(path=target, full_page=True)
                data = target.read_bytes()
                assert len(data) > 10_000, target
                shot_width, shot_height = png_size(data)
                assert shot_width == viewport["width"]
                assert shot_height >= viewport["height"]
        finally:
            context.close()
