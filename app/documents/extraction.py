"""Searchable text and cheap insights (language, keywords, links, size) from a stored document."""

import codecs
import re
from collections import Counter
from dataclasses import dataclass
from typing import IO, Any

from pypdf import PasswordType, PdfReader

from app.documents.images import IMAGE_SIZE_READERS
from app.documents.language import STOP_WORDS, guess_language
from app.documents.markdown import markdown_to_text

# PostgreSQL's tsvector is limited to 1 MB; this keeps the index and the insights bounded.
MAX_TEXT_CHARS = 200_000
MAX_LINKS = 50
MAX_KEYWORDS = 10
_MAX_TITLE_CHARS = 500
_MAX_REASON_CHARS = 200
_MAX_URL_CHARS = 2048
_MAX_EMAIL_CHARS = 254
_READ_CHUNK = 64 * 1024

# PostgreSQL cannot store NUL or lone surrogates; other controls only garble the index.
_UNWANTED_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_LINE_BREAKS = re.compile(r"\r\n?|[\v\f\u2028\u2029]")
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")  # "don't" is one word
_TOKEN = re.compile(r"[^\W_]+")
# The lookbehind anchors a match at the start of a run, which keeps the scan linear.
_EMAIL = re.compile(
    r"(?<![\w.%+-])[\w.%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+", re.ASCII
)
_URL = re.compile(r"https?://[^\s<>\"'`\[\]{}|\\^]+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?*'\""


class ExtractionError(Exception):
    """The document cannot be read; `str()` is a short reason fit for a user."""


@dataclass(frozen=True, slots=True)
class Extraction:
    text: str
    insights: dict[str, Any]


def extract(file: IO[bytes], content_type: str) -> Extraction:
    """Text for the search index and JSON-serializable insights for a seekable binary file."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    file.seek(0)
    if media_type in {"text/plain", "text/markdown"}:
        source, truncated = _read_text(file)
        if media_type == "text/plain":
            return _result(source, truncated=truncated)
        text, title = markdown_to_text(source)
        # Links and mailto targets live in the markup, so they are found in the source.
        return _result(text, truncated=truncated, title=title, link_source=source)
    if media_type == "application/pdf":
        return _extract_pdf(file)
    if size_reader := IMAGE_SIZE_READERS.get(media_type):
        size = size_reader(file)
        extra = {"image": {"width": size[0], "height": size[1]}} if size else {}
        return _result("", truncated=False, extra=extra)
    raise ExtractionError(f"unsupported content type: {content_type[:100]}")


def clean_text(text: str) -> str:
    """Line breaks as \\n; NUL, surrogates and every other control except \\n and \\t removed."""
    return _UNWANTED_CHARS.sub("", _LINE_BREAKS.sub("\n", text))


def _result(
    text: str,
    *,
    truncated: bool,
    title: str | None = None,
    page_count: int | None = None,
    link_source: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Extraction:
    if len(text) > MAX_TEXT_CHARS:
        text, truncated = text[:MAX_TEXT_CHARS], True
    links = text if link_source is None else link_source
    emails = _emails(links)
    urls = _urls(links)
    # Addresses would otherwise turn "https", "www" and "com" into keywords.
    prose = _URL.sub(" ", _EMAIL.sub(" ", text))
    tokens = [token.lower() for token in _TOKEN.findall(prose)]
    language = guess_language(tokens)
    insights: dict[str, Any] = {
        "word_count": len(_WORD.findall(text)),
        "char_count": len(text),
        "language": language,
        "top_keywords": _top_keywords(tokens, language),
        "emails": emails,
        "urls": urls,
        "page_count": page_count,
        "truncated": truncated,
        "title": _short_title(title),
    }
    insights.update(extra or {})
    return Extraction(text=text, insights=insights)


def _read_text(file: IO[bytes]) -> tuple[str, bool]:
    """At most MAX_TEXT_CHARS decoded characters, cleaned; True when more content existed."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    chunks: list[str] = []
    size = 0
    while size <= MAX_TEXT_CHARS:
        data = file.read(_READ_CHUNK)
        if not data:
            chunks.append(decoder.decode(b"", final=True))
            break
        chunk = decoder.decode(data)
        chunks.append(chunk)
        size += len(chunk)
    # A \r\n split between two chunks must stay one line break: clean after joining.
    text = clean_text("".join(chunks))
    more_in_file = size > MAX_TEXT_CHARS
    return text[:MAX_TEXT_CHARS], more_in_file or len(text) > MAX_TEXT_CHARS


def _extract_pdf(file: IO[bytes]) -> Extraction:
    try:
        reader = PdfReader(file)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise ExtractionError("encrypted PDF: a password is required to read it")
        page_count = len(reader.pages)
        metadata = reader.metadata
        title = metadata.title if metadata is not None else None
        parts: list[str] = []
        size = -2  # the length of "\n\n".join(parts)
        for page in reader.pages:
            if size > MAX_TEXT_CHARS:
                break  # _result cuts the text and flags it: later pages need no parsing
            page_text = clean_text(page.extract_text()).strip()
            if page_text:
                parts.append(page_text)
                size += len(page_text) + 2
    except ExtractionError:
        raise
    except Exception as exc:  # pypdf raises many types (and plain ValueError/KeyError) on bad input
        raise ExtractionError(f"not a readable PDF: {_reason(exc)}") from exc
    return _result(
        "\n\n".join(parts),
        truncated=False,
        title=title if isinstance(title, str) else None,
        page_count=page_count,
    )


def _reason(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    reason = lines[0] if lines else type(exc).__name__
    return reason[:_MAX_REASON_CHARS]


def _short_title(title: str | None) -> str | None:
    if title is None:
        return None
    title = " ".join(clean_text(title).split())[:_MAX_TITLE_CHARS]
    return title or None


def _emails(text: str) -> list[str]:
    found: dict[str, str] = {}
    for match in _EMAIL.finditer(text):
        email = match.group()
        domain = email.rpartition("@")[2]
        tld = domain.rpartition(".")[2]
        if len(email) > _MAX_EMAIL_CHARS or len(tld) < 2 or not tld.isalpha():
            continue
        found.setdefault(email.lower(), email)
        if len(found) == MAX_LINKS:
            break
    return list(found.values())


def _urls(text: str) -> list[str]:
    found: dict[str, None] = {}
    for match in _URL.finditer(text):
        url = _strip_url_tail(match.group())
        if len(url) > _MAX_URL_CHARS or not url.partition("://")[2]:
            continue
        found[url] = None
        if len(found) == MAX_LINKS:
            break
    return list(found)


def _strip_url_tail(url: str) -> str:
    while url:
        if url[-1] in _URL_TRAILING:
            url = url[:-1]
        elif url[-1] == ")" and url.count(")") > url.count("("):
            # A closing parenthesis belongs to the URL only when it balances one inside it.
            url = url[:-1]
        else:
            break
    return url


def _top_keywords(tokens: list[str], language: str) -> list[dict[str, Any]]:
    stop_words = STOP_WORDS.get(language, STOP_WORDS["unknown"])
    counts = Counter(
        token
        for token in tokens
        if len(token) >= 3 and token not in stop_words and any(c.isalpha() for c in token)
    )
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:MAX_KEYWORDS]
    return [{"word": word, "count": count} for word, count in ranked]
