"""The contact page in a real browser: upload with progress, the API's errors, client limits."""

import json
import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import FilePayload, Page, Request, Route, expect

from tests.pdfs import make_pdf
from tests.website.conftest import documents_found, wait_for, watch_problems

pytestmark = pytest.mark.slow

MAX_UPLOAD_BYTES = 1024 * 1024  # small, so an oversized file is cheap to make


@pytest.fixture(scope="module")
def stack_env() -> dict[str, str]:
    return {"MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES)}


def open_contact(page: Page) -> None:
    page.goto("/contact.html")
    # The limits came from GET /api/limits (the page's default is 25 MB).
    expect(page.locator("#files-hint")).to_contain_text("1 MB each")


def fill_form(page: Page, *, subject: str, email: str = "grace@example.com") -> None:
    page.fill("#name", "Grace Hopper")
    page.fill("#email", email)
    page.fill("#subject", subject)
    page.fill("#message", "Notes on the first compiler.\nRegards, Grace")
    page.fill("#tags", "Compilers, history")


def payload(name: str, mime_type: str, content: bytes) -> FilePayload:
    return {"name": name, "mimeType": mime_type, "buffer": content}


def contact_posts(page: Page) -> list[Request]:
    posts: list[Request] = []
    page.on(
        "request",
        lambda request: (
            posts.append(request)
            if request.method == "POST" and request.url.endswith("/api/contact")
            else None
        ),
    )
    return posts


def test_contact_with_a_pdf_is_stored_processed_and_found(page: Page, api: httpx.Client) -> None:
    pdf = make_pdf(
        ["The quokka compiler translates English words into machine code."], title="Manual"
    )
    subject = f"Compiler manual {uuid.uuid4()}"
    open_contact(page)
    fill_form(page, subject=subject)
    page.set_input_files("#files", files=[payload("manual.pdf", "application/pdf", pdf)])
    expect(page.locator("#file-list li")).to_have_count(1)
    expect(page.locator("#file-list li")).to_contain_text("manual.pdf")

    page.click("#submit")

    success = page.locator("#success")
    expect(success).to_be_visible()
    expect(success).to_be_focused()
    expect(page.locator("#progress-bar")).to_have_js_property("value", 100)
    expect(page.locator("#progress-percent")).to_have_text("100%")
    expect(page.locator("#success-files")).to_contain_text("manual.pdf")
    # The form is ready for another message.
    expect(page.locator("#name")).to_have_value("")
    expect(page.locator("#file-list li")).to_have_count(0)

    contact_id = page.locator("#success-id").inner_text()
    contact = api.get(f"/api/contacts/{contact_id}")
    assert contact.status_code == 200
    body = contact.json()
    assert (body["subject"], body["tags"], body["source"]) == (
        subject,
        ["compilers", "history"],
        "website",
    )
    [attachment] = body["attachments"]
    assert (attachment["filename"], attachment["size_bytes"]) == ("manual.pdf", len(pdf))
    assert api.get(f"/api/documents/{attachment['id']}").status_code == 200

    # The page follows the processing; the API agrees once it is done.
    badge = page.locator(f'#success-files li[data-document-id="{attachment["id"]}"] .badge')
    expect(badge).to_have_attribute("data-status", "completed", timeout=30_000)
    wait_for(documents_found(api, "quokka", 1), "the PDF is searchable")

    page.goto("/search.html")
    page.fill("#q", "quokka")
    page.press("#q", "Enter")
    expect(page).to_have_url(re.compile(r"/search\.html\?q=quokka$"))
    hit = page.locator("#hits > li")
    expect(hit).to_have_count(1)
    expect(hit.locator(".snippet mark")).to_have_text(re.compile("quokka", re.IGNORECASE))
    expect(hit.locator(".badge")).to_have_attribute("data-status", "completed")
    link = hit.get_by_role("link", name="manual.pdf")
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == "manual.pdf"
    assert Path(download.path()).read_bytes() == pdf


def test_email_the_api_rejects_is_shown_next_to_the_field(page: Page, api: httpx.Client) -> None:
    # The browser's own email check accepts this; the API's (a domain needs a dot) does not.
    email = "ada@example"
    expected = api.post(
        "/api/contact", json={"name": "A", "email": email, "subject": "s", "message": "m"}
    ).json()["error"]["details"]
    [email_error] = [detail["message"] for detail in expected if detail["field"] == "email"]
    subject = f"Bad address {uuid.uuid4()}"
    open_contact(page)
    fill_form(page, subject=subject, email=email)
    assert page.eval_on_selector("#email", "input => input.checkValidity()") is True
    page.set_input_files("#files", files=[payload("notes.txt", "text/plain", b"notes")])
    posts = contact_posts(page)

    page.click("#submit")

    expect(page.locator("#email-error")).to_have_text(email_error)
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#email")).to_be_focused()
    expect(page.locator("#form-error")).to_have_text(
        re.compile(
            r"^Your message was not sent\s*"
            r"Some details were not accepted: see the messages next to the fields\.$"
        )
    )
    assert len(posts) == 1  # the API was asked, and answered
    for selector, value in {
        "#name": "Grace Hopper",
        "#email": email,
        "#subject": subject,
        "#message": "Notes on the first compiler.\nRegards, Grace",
        "#tags": "Compilers, history",
    }.items():
        expect(page.locator(selector)).to_have_value(value)
    expect(page.locator("#file-list li")).to_have_text(re.compile("notes.txt"))
    for field in ("name", "subject", "message", "tags"):
        expect(page.locator(f"#{field}-error")).to_be_hidden()
    stored = api.get("/api/contacts", params={"limit": 100}).json()["items"]
    assert subject not in {item["subject"] for item in stored}


def test_files_over_the_limits_are_refused_before_upload(page: Page) -> None:
    open_contact(page)
    posts = contact_posts(page)
    too_big = b"%PDF-1.7\n" + b"0" * (MAX_UPLOAD_BYTES + MAX_UPLOAD_BYTES // 2)
    page.set_input_files(
        "#files",
        files=[
            payload("setup.exe", "application/x-msdownload", b"MZ\x90"),
            payload("scan.pdf", "application/pdf", too_big),
            payload("empty.txt", "text/plain", b""),
        ],
    )
    errors = page.locator("#files-error")
    expect(errors).to_be_visible()
    expect(errors).to_contain_text("setup.exe was not added: .exe files are not accepted")
    expect(errors).to_contain_text("scan.pdf was not added: it is 1.5 MB")
    expect(errors).to_contain_text("at most 1 MB")
    expect(errors).to_contain_text("empty.txt was not added: the file is empty")
    expect(page.locator("#file-list li")).to_have_count(0)
    assert ".pdf" in (page.get_attribute("#files", "accept") or "")

    # Nothing filled in: every required field says so, and the first one has the focus.
    page.click("#submit")
    for field, message in {
        "name": "Enter your name.",
        "email": "Enter your email address.",
        "subject": "Enter a subject.",
        "message": "Enter a message.",
    }.items():
        expect(page.locator(f"#{field}-error")).to_have_text(message)
    expect(page.locator("#name")).to_be_focused()

    page.fill("#email", "not an address")
    expect(page.locator("#email-error")).to_have_text(
        "Enter an email address in the format name@example.com."
    )
    page.fill("#tags", ",".join(f"tag{n}" for n in range(21)))
    page.click("#submit")
    expect(page.locator("#tags-error")).to_have_text("Use at most 20 tags (you entered 21).")
    assert posts == []  # nothing was sent


def test_attachment_the_api_refuses_is_marked_in_the_list(page: Page, api: httpx.Client) -> None:
    # A name that promises a PNG around PDF bytes: only the server's sniffing can tell.
    pdf = make_pdf(["not a picture"])
    open_contact(page)
    problems = watch_problems(page)
    subject = f"Mismatch {uuid.uuid4()}"
    fill_form(page, subject=subject)
    page.set_input_files(
        "#files",
        files=[payload("photo.png", "image/png", pdf), payload("ok.txt", "text/plain", b"ok")],
    )
    page.click("#submit")

    expect(page.locator("#files-error")).to_contain_text(
        "photo.png: the name says one type, the content is application/pdf"
    )
    expect(page.locator("#files")).to_be_focused()
    rejected = page.locator("#file-list li.file-item-rejected")
    expect(rejected).to_have_count(1)
    expect(rejected).to_contain_text("photo.png")
    expect(page.locator("#subject")).to_have_value(subject)

    page.get_by_role("button", name="Remove photo.png").click()
    page.set_input_files("#files", files=[payload("more.txt", "text/plain", b"more")])
    expect(page.locator("#file-list li")).to_have_count(2)
    page.click("#submit")
    expect(page.locator("#success")).to_be_visible()
    contact_id = page.locator("#success-id").inner_text()
    stored = api.get(f"/api/contacts/{contact_id}").json()
    assert sorted(a["filename"] for a in stored["attachments"]) == ["more.txt", "ok.txt"]
    # The page's own code never failed (the 415 itself is a console error by design).
    assert [problem for problem in problems if problem.startswith("page error")] == []


DROP_FILES = """files => {
  const transfer = new DataTransfer();
  for (const [name, type, text] of files) {
    transfer.items.add(new File([text], name, { type }));
  }
  const zone = document.getElementById("dropzone");
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(
      new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }),
    );
  }
}"""


def test_files_dropped_on_the_zone_are_listed_and_removable(page: Page) -> None:
    open_contact(page)
    page.evaluate(
        DROP_FILES,
        [
            ["first.txt", "text/plain", "one"],
            ["second.md", "text/markdown", "# two"],
            ["tool.exe", "application/x-msdownload", "MZ"],
        ],
    )
    items = page.locator("#file-list li")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("first.txt")
    expect(items.nth(0)).to_contain_text("3 bytes")
    expect(items.nth(1)).to_contain_text("second.md")
    expect(page.locator("#files-error")).to_contain_text("tool.exe was not added")

    page.get_by_role("button", name="Remove first.txt").click()
    expect(items).to_have_count(1)
    expect(page.get_by_role("button", name="Remove second.md")).to_be_focused()
    expect(page.locator("#files-live")).to_have_text("Removed first.txt.")


def test_keyboard_order_and_skip_link(page: Page) -> None:
    open_contact(page)
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None
    assert box["y"] >= 0  # on screen once focused
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    # Each stop shows a focus outline (for the hidden file input, on its label).
    stops = []
    for _ in range(7):
        page.keyboard.press("Tab")
        stops.append(
            page.evaluate(
                """() => {
                  const element = document.activeElement;
                  const shown = element.type === "file" ? element.labels[0] : element;
                  return [element.id, getComputedStyle(shown).outlineStyle];
                }"""
            )
        )
    assert stops == [
        [field, "solid"]
        for field in ("name", "email", "subject", "message", "tags", "files", "submit")
    ]


def test_service_unavailable_keeps_the_input(page: Page) -> None:
    """A 503 with Retry-After, as the API sends when its database is down (stubbed here)."""

    def unavailable(route: Route) -> None:
        route.fulfill(
            status=503,
            headers={"Retry-After": "7", "Content-Type": "application/json"},
            body=json.dumps(
                {
                    "error": {
                        "code": "database_unavailable",
                        "message": "the database is unavailable; retry shortly",
                        "details": None,
                    }
                }
            ),
        )

    open_contact(page)
    page.route("**/api/contact", unavailable)
    subject = f"Later {uuid.uuid4()}"
    fill_form(page, subject=subject)
    page.click("#submit")
    alert = page.locator("#form-error")
    expect(alert).to_contain_text("temporarily unavailable")
    expect(alert).to_contain_text("try again in 7 seconds")
    expect(alert).to_be_focused()
    expect(page.locator("#subject")).to_have_value(subject)
    expect(page.locator("#progress")).to_be_hidden()
