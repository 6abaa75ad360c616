"""The website's files: fingerprinted assets that match their content, references that resolve,
and nothing the edge's Content-Security-Policy would block (inline scripts, styles, handlers)."""

import hashlib
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import REPO

WEBSITE = REPO / "website"
SCRIPT = REPO / "scripts" / "fingerprint.py"
PAGES = sorted(WEBSITE.glob("*.html"))
FINGERPRINTED = re.compile(r"^[A-Za-z0-9_-]+\.(?P<digest>[0-9a-f]{10})\.(css|js|svg|png|woff2)$")


class _Page(HTMLParser):
    """What a page loads and what the CSP would refuse in it."""

    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.refused: list[str] = []
        self._tag = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag = tag
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.refused.append(f"<{tag} {name}=...>")
            if name == "style":
                self.refused.append(f"<{tag} style=...>")
            if name in {"href", "src"} and value and value.startswith("/assets/"):
                self.references.append(value)
        if tag == "script" and "src" not in values:
            self.refused.append("inline <script>")
        if tag == "style":
            self.refused.append("<style>")
        for name in ("href", "src", "action"):
            value = values.get(name) or ""
            if re.match(r"(?i)\s*javascript:", value):
                self.refused.append(f"<{tag} {name}={value}>")
            # Loaded (not navigated to) from elsewhere: no CDNs, no external fonts.
            loaded = tag in {"script", "img", "link", "iframe", "source"}
            if loaded and re.match(r"(?i)\s*(https?:)?//", value):
                self.refused.append(f"<{tag} {name}={value}>")


def parse(page: Path) -> _Page:
    parser = _Page()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def test_the_site_has_its_pages() -> None:
    assert {page.name for page in PAGES} >= {"index.html", "contact.html", "search.html"}


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_every_asset_reference_resolves_to_its_fingerprint(page: Path) -> None:
    references = parse(page).references
    assert any(reference.endswith(".css") for reference in references)
    for reference in references:
        asset = WEBSITE / reference.lstrip("/")
        assert asset.is_file(), f"{page.name}: {reference} does not exist"
        match = FINGERPRINTED.match(asset.name)
        assert match, f"{page.name}: {reference} is not fingerprinted"
        digest = hashlib.sha256(asset.read_bytes()).hexdigest()[:10]
        assert match["digest"] == digest, f"{reference}: run scripts/fingerprint.py"


def test_every_asset_is_fingerprinted_and_used() -> None:
    used = {reference for page in PAGES for reference in parse(page).references}
    for asset in sorted((WEBSITE / "assets").iterdir()):
        match = FINGERPRINTED.match(asset.name)
        assert match, f"{asset.name} is not fingerprinted: run scripts/fingerprint.py"
        assert match["digest"] == hashlib.sha256(asset.read_bytes()).hexdigest()[:10]
        assert f"/assets/{asset.name}" in used, f"{asset.name} is not used by any page"


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_nothing_the_csp_refuses(page: Path) -> None:
    assert parse(page).refused == []


def test_fingerprint_check_passes_on_the_repo() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def run_fingerprint(website: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--website", str(website), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_fingerprint_renames_rewrites_and_is_idempotent(tmp_path: Path) -> None:
    site = tmp_path / "website"
    shutil.copytree(WEBSITE, site)
    [stylesheet] = (site / "assets").glob("site.*.css")
    stylesheet.write_text(stylesheet.read_text() + "\n.new-rule { color: red; }\n")
    digest = hashlib.sha256(stylesheet.read_bytes()).hexdigest()[:10]
    (site / "assets" / "extra.js").write_text('"use strict";\n')
    index = site / "index.html"
    index.write_text(
        index.read_text().replace(
            "</body>", '<script src="/assets/extra.js" defer></script>\n</body>'
        )
    )

    assert run_fingerprint(site, "--check").returncode == 1
    assert run_fingerprint(site).returncode == 0

    assert not stylesheet.exists()
    assert (site / "assets" / f"site.{digest}.css").is_file()
    extra_digest = hashlib.sha256(b'"use strict";\n').hexdigest()[:10]
    assert (site / "assets" / f"extra.{extra_digest}.js").is_file()
    for page in site.glob("*.html"):
        text = page.read_text()
        assert f"/assets/site.{digest}.css" in text
        assert stylesheet.name not in text
    assert f"/assets/extra.{extra_digest}.js" in index.read_text()

    before = {path: path.read_bytes() for path in site.rglob("*") if path.is_file()}
    again = run_fingerprint(site)
    assert again.returncode == 0
    assert "up to date" in again.stdout
    assert {path: path.read_bytes() for path in site.rglob("*") if path.is_file()} == before
    assert run_fingerprint(site, "--check").returncode == 0


def test_fingerprint_refuses_a_reference_to_a_missing_asset(tmp_path: Path) -> None:
    site = tmp_path / "website"
    shutil.copytree(WEBSITE, site)
    index = site / "index.html"
    index.write_text(
        index.read_text().replace(
            "</head>", '<link rel="stylesheet" href="/assets/gone.css">\n</head>'
        )
    )
    result = run_fingerprint(site)
    assert result.returncode == 2
    assert "assets/gone.css does not exist" in result.stderr
