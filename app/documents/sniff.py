"""What an upload really is, judged from its bytes, and a file name that is safe to hand back.

The client's Content-Type and file name are claims; these functions decide what the service
stores and later serves. Everything here is pure: no I/O, no exceptions for odd input.
"""

import codecs
import re
import unicodedata

ALLOWED_TYPES: frozenset[str] = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "text/plain",
        "text/markdown",
    }
)

# Enough to see every signature and to judge text by a sample, small enough to read eagerly.
SNIFF_BYTES: int = 8192

_TEXT_TYPES = frozenset({"text/plain", "text/markdown"})
_MARKDOWN_EXTENSIONS = frozenset({"md", "markdown"})
_TYPES_BY_EXTENSION: dict[str, frozenset[str]] = {
    "pdf": frozenset({"application/pdf"}),
    "png": frozenset({"image/png"}),
    "jpg": frozenset({"image/jpeg"}),
    "jpeg": frozenset({"image/jpeg"}),
    "gif": frozenset({"image/gif"}),
    "webp": frozenset({"image/webp"}),
    # A .txt may hold markdown and a .md is readable as plain text: one family.
    "txt": _TEXT_TYPES,
    "text": _TEXT_TYPES,
    "md": _TEXT_TYPES,
    "markdown": _TEXT_TYPES,
    "csv": _TEXT_TYPES,
    "log": _TEXT_TYPES,
}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TEXT_CONTROLS_ALLOWED = frozenset("\t\n\r\f")
# Browsers sniff markup behind leading whitespace whatever the declared type: `<` followed by
# a tag name, `!` (doctype, comment), `?` (XML declaration) or `/` is treated as markup.
_MARKUP_START = re.compile(r"<[A-Za-z!?/]")

MAX_FILENAME_BYTES = 255
_FALLBACK_FILENAME = "file"
# Longer "extensions" are part of the name, not a type marker worth keeping on truncation.
# Extensions whose type is checked against the bytes (as ".pdf", for file pickers).
KNOWN_EXTENSIONS = frozenset(f".{extension}" for extension in _TYPES_BY_EXTENSION)
_MAX_EXTENSION_BYTES = 16
_PATH_SEPARATORS = re.compile(r"[/\\]")
_UNSAFE_FILENAME_CHARS = str.maketrans(dict.fromkeys('"<>:|?*', "_"))
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
# Windows refuses these as file names whatever the extension.
_RESERVED_STEMS = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{n}" for n in range(1, 10)}
    | {f"LPT{n}" for n in range(1, 10)}
)


def detect_content_type(head: bytes, filename: str) -> str | None:
    """The allowed type `head` (the file's first SNIFF_BYTES bytes) proves, or None."""
    head = head[:SNIFF_BYTES]
    if not head:
        return None
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(_PNG_SIGNATURE):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if not _is_plain_text(head, cut=len(head) == SNIFF_BYTES):
        return None
    if _extension(filename) in _MARKDOWN_EXTENSIONS:
        return "text/markdown"
    return "text/plain"


def extension_matches(filename: str, content_type: str) -> bool:
    """False when the name's known extension promises a different type than the content has."""
    expected = _TYPES_BY_EXTENSION.get(_extension(filename))
    return expected is None or content_type in expected


def sanitize_filename(raw: str | None) -> str:
    """A name safe for Content-Disposition and common file systems; "file" if nothing is left."""
    if not raw:
        return _FALLBACK_FILENAME
    name = unicodedata.normalize("NFC", raw)
    # Controls and format characters (bidi overrides, zero-width) go before splitting so an
    # invisible character cannot hide a separator or an extension; line breaks become spaces.
    name = "".join(
        " " if ch.isspace() else ch
        for ch in name
        if ch.isspace() or unicodedata.category(ch) not in _DROPPED_CATEGORIES
    )
    name = _PATH_SEPARATORS.split(name)[-1]
    name = " ".join(name.split())
    name = name.translate(_UNSAFE_FILENAME_CHARS)
    # No hidden files or `..`; Windows silently drops trailing dots and spaces.
    name = name.lstrip(". ").rstrip(". ")
    name = _truncate_filename(name)
    if not name:
        return _FALLBACK_FILENAME
    if name.split(".", 1)[0].upper() in _RESERVED_STEMS:
        name = _truncate_filename(f"_{name}")
    return name


def _is_plain_text(head: bytes, *, cut: bool) -> bool:
    # A sample cut at SNIFF_BYTES may end inside a multi-byte sequence; the incremental
    # decoder keeps such a tail pending instead of failing when `final` is false.
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        text = decoder.decode(head, final=not cut)
    except UnicodeDecodeError:
        return False
    for char in text:
        if char in _TEXT_CONTROLS_ALLOWED:
            continue
        if unicodedata.category(char) == "Cc":
            return False
    return _MARKUP_START.match(text.lstrip()) is None


def _extension(filename: str) -> str:
    name = _PATH_SEPARATORS.split(filename)[-1].rstrip(". \t\r\n")
    _, dot, extension = name.rpartition(".")
    return extension.lower() if dot else ""


def _truncate_filename(name: str) -> str:
    if len(name.encode()) <= MAX_FILENAME_BYTES:
        return name
    stem, dot, extension = name.rpartition(".")
    suffix = f".{extension}"
    if not dot or not stem or len(suffix.encode()) > _MAX_EXTENSION_BYTES:
        stem, suffix = name, ""
    budget = MAX_FILENAME_BYTES - len(suffix.encode())
    # Cutting bytes may split a character; "ignore" drops the partial one.
    stem = stem.encode()[:budget].decode(errors="ignore").rstrip(". ")
    return f"{stem}{suffix}" if stem else ""
