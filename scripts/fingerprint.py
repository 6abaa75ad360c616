"""Fingerprint the website's assets (`name.<hash>.ext`) and rewrite the HTML that uses them.

Edit an asset in place (`website/assets/site.<old hash>.css`, or add `new.js`), then run

    .venv/bin/python scripts/fingerprint.py           # rename assets, rewrite references
    .venv/bin/python scripts/fingerprint.py --check   # change nothing; exit 1 if out of date

The hash is the first 10 hex digits of the SHA-256 of the file's bytes, so the edge can cache
assets for a year: changed content gets a new name, and the HTML (served `no-cache`) the new
reference. Running it again changes nothing. References are rewritten in HTML files only;
stylesheets and scripts must not name other assets.
"""

import argparse
import hashlib
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

WEBSITE = Path(__file__).resolve().parent.parent / "website"
ASSETS_DIR = "assets"
HASH_LENGTH = 10
EXTENSIONS = ("css", "js", "svg", "png", "woff2")
ASSET_NAME = re.compile(
    rf"^(?P<stem>[A-Za-z0-9_-]+)(?:\.[0-9a-f]{{{HASH_LENGTH}}})?\.(?P<ext>{'|'.join(EXTENSIONS)})$"
)
# Any reference to something under assets/ in an attribute value, for the existence check.
REFERENCE = re.compile(rf"""(?:href|src)\s*=\s*["']?/?({ASSETS_DIR}/[^"'\s>?#]+)""")


@dataclass(frozen=True, slots=True)
class Asset:
    path: Path
    stem: str
    ext: str

    @property
    def wanted_name(self) -> str:
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()[:HASH_LENGTH]
        return f"{self.stem}.{digest}.{self.ext}"

    def reference(self, website: Path) -> re.Pattern[str]:
        """`<folder>/stem.ext` or `<folder>/stem.<any hash>.ext`, as a whole path segment."""
        folder = self.path.parent.relative_to(website).as_posix()
        return re.compile(
            rf"(?<![\w.-]){re.escape(folder)}/{re.escape(self.stem)}"
            rf"(?:\.[0-9a-f]{{{HASH_LENGTH}}})?\.{self.ext}(?![\w.-])"
        )


@dataclass(slots=True)
class Plan:
    renames: list[tuple[Path, Path]]
    rewrites: dict[Path, str]
    problems: list[str]


def find_assets(website: Path) -> tuple[list[Asset], list[str]]:
    assets: dict[tuple[Path, str, str], Asset] = {}
    problems: list[str] = []
    for path in sorted((website / ASSETS_DIR).rglob("*")):
        if not path.is_file() or path.suffix.lstrip(".") not in EXTENSIONS:
            continue
        match = ASSET_NAME.match(path.name)
        if match is None:
            problems.append(f"{path.relative_to(website)}: expected name.ext or name.<hash>.ext")
            continue
        key = (path.parent, match["stem"], match["ext"])
        if key in assets:
            # Two versions of one asset: which one is current cannot be guessed.
            other = assets[key].path.relative_to(website)
            problems.append(f"{path.relative_to(website)} and {other} are the same asset")
            continue
        assets[key] = Asset(path, match["stem"], match["ext"])
    return list(assets.values()), problems


def make_plan(website: Path) -> Plan:
    assets, problems = find_assets(website)
    renames = [
        (asset.path, asset.path.with_name(asset.wanted_name))
        for asset in assets
        if asset.path.name != asset.wanted_name
    ]
    rewrites: dict[Path, str] = {}
    for page in sorted(website.rglob("*.html")):
        original = page.read_text(encoding="utf-8")
        text = original
        for asset in assets:
            folder = asset.path.parent.relative_to(website).as_posix()
            text = asset.reference(website).sub(f"{folder}/{asset.wanted_name}", text)
        if text != original:
            rewrites[page] = text
        final_names = {
            (asset.path.parent / asset.wanted_name).relative_to(website).as_posix()
            for asset in assets
        }
        for reference in REFERENCE.findall(text):
            if reference not in final_names:
                problems.append(f"{page.relative_to(website)}: {reference} does not exist")
    return Plan(renames=renames, rewrites=rewrites, problems=problems)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    parser.add_argument("--website", type=Path, default=WEBSITE, help="the site's folder")
    args = parser.parse_args(argv)
    website: Path = args.website.resolve()
    plan = make_plan(website)
    for problem in plan.problems:
        print(f"error: {problem}", file=sys.stderr)
    if plan.problems:
        return 2
    for old, new in plan.renames:
        print(
            f"{'outdated' if args.check else 'renamed'}: {old.relative_to(website)} -> {new.name}"
        )
    for page in plan.rewrites:
        print(f"{'outdated' if args.check else 'rewrote'}: {page.relative_to(website)}")
    if args.check:
        return 1 if plan.renames or plan.rewrites else 0
    for old, new in plan.renames:
        old.rename(new)
    for page, text in plan.rewrites.items():
        page.write_text(text, encoding="utf-8")
    if not plan.renames and not plan.rewrites:
        print("up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
