"""Searchable text and cheap insights (language, keywords, links, size) from a stored document."""

import codecs
import html
import os
import re
import struct
from collections import Counter
from dataclasses import dataclass
from typing import IO, Any

from pypdf import PasswordType, PdfReader

# PostgreSQL's tsvector is limited to 1 MB; this keeps the index and the insights bounded.
MAX_TEXT_CHARS = 200_000
MAX_LINKS = 50
MAX_KEYWORDS = 10
_MAX_TITLE_CHARS = 500
_MAX_REASON_CHARS = 200
_MAX_URL_CHARS = 2048
_MAX_EMAIL_CHARS = 254
_READ_CHUNK = 64 * 1024
_JPEG_MAX_SEGMENTS = 256

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
    if size_reader := _IMAGE_SIZE_READERS.get(media_type):
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


# --- Language -----------------------------------------------------------------------------

# Frequent function words per language. Fragments such as "don" and "isn" are what the
# tokenizer leaves of English contractions; "qu" and "l" of French elisions.
_FUNCTION_WORDS = {
    "en": """a about above after again against all also am an and any are aren as at be because
        been before being below between both but by can could couldn did didn do does doesn
        doing don down during each few for from further had hadn has hasn have haven having he
        her here hers herself him himself his how i if in into is isn it its itself just ll may
        me might more most must my myself no nor not now of off on once only or other our ours
        out over own re same shall she should shouldn so some such than that the their theirs
        them themselves then there these they this those through to too under until up us ve
        very was wasn we were weren what when where which while who whom why will with won
        would wouldn you your yours""",
    "de": """aber alle allem allen aller alles als also am an andere anderen auch auf aus bei bin
        bis bist da damit dann das dass dein deine dem den denn der des dich die dies diese
        diesem diesen dieser dieses dir doch dort du durch ein eine einem einen einer eines er
        es etwas euch euer für gegen gewesen habe haben hat hatte hier ich ihm ihn ihnen ihr
        ihre im in ins ist jede jedem jeden jeder jetzt kann kein keine können man mein meine
        mich mir mit muss nach nicht nichts noch nun nur ob oder ohne sehr sein seine sich sie
        sind soll sondern über um und uns unser unter viel vom von vor war waren warum was
        weil welche wenn wer werden wie wieder will wir wird wo wurde würde zu zum zur zwischen""",
    "fr": """à afin ai alors au aucun aussi autre aux avait avec avoir c ce ceci cela celle celui
        ces cet cette chaque comme d dans de des donc dont du elle elles en encore est et été
        être eu fait il ils j je l la le les leur leurs lui m ma mais me même mes moi mon n ne
        ni nos notre nous on ont ou où par pas peu plus pour pourquoi qu quand que quel quelle
        qui s sa sans se sera ses si son sont sous sur t ta te tes toi ton tous tout toute
        toutes très tu un une vos votre vous y ça était""",
    "es": """al algo algunos ante antes como con contra cual cuando de del desde donde durante el
        ella ellas ellos en entre era es esa ese eso esta está están este esto estos fue fueron
        ha han hasta hay la las le les lo los más me mi mientras muy nada ni no nos nosotros
        otra otro para pero poco por porque que quien se sea ser si sí sin sobre son su sus
        también tan te tiene todo todos tu tú un una uno unos y ya yo él""",
    "it": """ad al alla alle allo anche ancora che chi ci come con cui da dal dalla dei del della
        delle dello di dove e è ed era erano essere fa gli ha hanno ho i il in io la le lei lo
        loro lui ma mi mia mio molto ne negli nei nel nella noi non nostro o per perché più poi
        quale quando quella quello questa questo se si sia sono su sua sue sul sulla suo tra tu
        tutti tutto un una uno vi voi""",
    "nl": """aan al alles als altijd ben bij daar dan dat de deze die dit doch doen door dus een
        en er geen geweest haar had heb hebben heeft hem het hier hij hoe hun ik in is ja je kan
        kon maar me meer men met mij mijn moet na naar niet niets nog nu of om omdat onder ons
        ook op over te tegen toch toen tot u uit uw van veel voor want waren was wat we wel werd
        wie wij wil worden zal ze zei zelf zich zij zijn zo zonder zou""",
    "pt": """ao aos aquela aquele as à até com como da das de dela dele deles depois do dos e é ela
        elas ele eles em entre era essa esse esta está este eu foi foram há isso isto já lhe
        mais mas me mesmo meu minha muito na nas nem no nos nós não num numa o os ou para pela
        pelas pelo pelos por porque quando que quem se sem ser seu seus só sua suas também te
        tem tu um uma você""",
}
STOP_WORDS: dict[str, frozenset[str]] = {
    language: frozenset(words.split()) for language, words in _FUNCTION_WORDS.items()
}
STOP_WORDS["unknown"] = frozenset().union(*STOP_WORDS.values())
_LANGUAGES_BY_WORD: dict[str, list[str]] = {}
for _language, _words in STOP_WORDS.items():
    if _language != "unknown":
        for _word in _words:
            _LANGUAGES_BY_WORD.setdefault(_word, []).append(_language)
# Below this many function-word hits a guess is noise; the winner must lead by this factor.
_MIN_LANGUAGE_HITS = 5
_LANGUAGE_LEAD = 1.5


def guess_language(tokens: list[str]) -> str:
    """ISO 639-1 code of the language whose function words dominate, else "unknown"."""
    hits: Counter[str] = Counter()
    for token in tokens:
        hits.update(_LANGUAGES_BY_WORD.get(token, ()))
    ranked = hits.most_common(2)
    if not ranked or ranked[0][1] < _MIN_LANGUAGE_HITS:
        return "unknown"
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    return ranked[0][0] if ranked[0][1] >= runner_up * _LANGUAGE_LEAD else "unknown"


# --- Markdown -----------------------------------------------------------------------------

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")
_REFERENCE_DEFINITION = re.compile(r" {0,3}\[[^\[\]\n]{1,999}\]:[ \t]*\S")
_BLOCK_PREFIX = re.compile(
    r"(?:[ \t]*>)*[ \t]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?)?"
)
# Link texts may not contain brackets, so a failed match never rescans the same text: linear.
_LINK_TARGET = r"\((?:[^()\s]|\([^()\s]*\))*(?:[ \t]+\"[^\"\n]*\")?\)"
_IMAGE = re.compile(r"!\[([^\[\]\n]*)\]" + _LINK_TARGET)
_LINK = re.compile(r"\[([^\[\]\n]*)\]" + _LINK_TARGET)
_REFERENCE_LINK = re.compile(r"\[([^\[\]\n]*)\]\[[^\[\]\n]*\]")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^<>\s]*)>", re.IGNORECASE)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:[ \t/][^<>]*)?>")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_LOOSE_UNDERSCORES = re.compile(r"(?<!\w)_+|(?<!_)_+(?!\w)")
_INLINE_MARKUP = re.compile(r"[\[\]<>*_~`\\&]")  # most lines have none: skip the rest


def markdown_to_text(source: str) -> tuple[str, str | None]:
    """Markdown as plain text for indexing, and its first heading (ATX or setext)."""
    lines: list[str] = []
    title: str | None = None
    fence: str | None = None
    paragraph_line: str | None = None  # the previous line, if a setext underline may follow
    for line in source.split("\n"):
        stripped = line.strip()
        if fence is not None:
            if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
                fence = None
            else:
                lines.append(line)  # code is kept verbatim: identifiers are worth finding
            continue
        previous, paragraph_line = paragraph_line, None
        if not stripped:
            lines.append("")
            continue
        opening = _FENCE.match(line)
        if opening:
            fence = opening.group(1)
        elif _is_rule(stripped):
            if title is None and previous and stripped[0] in "=-":
                title = _inline(previous).strip() or None
        elif heading := _ATX_HEADING.match(line):
            text = _inline(_strip_closing_hashes(line[heading.end() :]))
            title = title or text or None
            lines.append(text)
        elif not _REFERENCE_DEFINITION.match(line):
            prefix = _BLOCK_PREFIX.match(line)
            assert prefix is not None  # every part of the pattern is optional
            body = line[prefix.end() :]
            if _is_table_rule(stripped):
                continue
            lines.append(_inline(body.replace("|", " ")))
            if body.strip() and not prefix.group().strip():
                paragraph_line = body
    return "\n".join(lines), title


def _inline(text: str) -> str:
    if not _INLINE_MARKUP.search(text):
        return text.strip()
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _REFERENCE_LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _HTML_TAG.sub("", _drop_html_comments(text))
    text = _ESCAPE.sub(r"\1", text)
    text = text.replace("*", "").replace("~~", "").replace("`", "")
    text = _LOOSE_UNDERSCORES.sub("", text)
    return html.unescape(text).strip()


def _drop_html_comments(text: str) -> str:
    # str.find instead of a regex: an unclosed "<!--" repeated must not cost quadratic time.
    kept: list[str] = []
    position = 0
    while (start := text.find("<!--", position)) != -1:
        end = text.find("-->", start + 4)
        if end == -1:
            break
        kept.append(text[position:start])
        position = end + 3
    kept.append(text[position:])
    return "".join(kept)


def _strip_closing_hashes(text: str) -> str:
    text = text.strip()
    without = text.rstrip("#")
    if without != text and (not without or without[-1] in " \t"):
        return without.strip()
    return text


def _is_rule(stripped: str) -> bool:
    """A thematic break or setext underline: ***, ---, ___ (three or more) or any run of =."""
    compact = stripped.replace(" ", "").replace("\t", "")
    if not compact or len(set(compact)) != 1:
        return False
    return compact[0] == "=" or (compact[0] in "-*_" and len(compact) >= 3)


def _is_table_rule(stripped: str) -> bool:
    return "|" in stripped and "-" in stripped and set(stripped) <= set("|:- \t")


# --- Image headers ------------------------------------------------------------------------


def _png_size(file: IO[bytes]) -> tuple[int, int] | None:
    head = file.read(24)
    if len(head) < 24 or not head.startswith(b"\x89PNG\r\n\x1a\n") or head[12:16] != b"IHDR":
        return None
    return _positive(*struct.unpack(">II", head[16:24]))


def _gif_size(file: IO[bytes]) -> tuple[int, int] | None:
    head = file.read(10)
    if len(head) < 10 or head[:6] not in {b"GIF87a", b"GIF89a"}:
        return None
    return _positive(*struct.unpack("<HH", head[6:10]))


def _webp_size(file: IO[bytes]) -> tuple[int, int] | None:
    head = file.read(30)
    if len(head) < 30 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return None
    chunk = head[12:16]
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", head[26:30])
        return _positive(width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and head[20] == 0x2F:
        (bits,) = struct.unpack("<I", head[21:25])
        return _positive((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return _positive(width, height)
    return None


def _jpeg_size(file: IO[bytes]) -> tuple[int, int] | None:
    """Walks the marker segments (seeking over their bodies) up to the first SOFn frame header."""
    if file.read(2) != b"\xff\xd8":
        return None
    for _ in range(_JPEG_MAX_SEGMENTS):
        marker = file.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        code = marker[1]
        if code == 0xFF:  # fill bytes before a marker
            fill = file.read(64).lstrip(b"\xff")
            if not fill:
                return None
            file.seek(1 - len(fill), os.SEEK_CUR)
            code = fill[0]
        if code == 0x01 or 0xD0 <= code <= 0xD8:  # markers without a length
            continue
        if code in {0xD9, 0xDA}:  # end of image or start of scan: no frame header seen
            return None
        length_bytes = file.read(2)
        if len(length_bytes) < 2:
            return None
        (length,) = struct.unpack(">H", length_bytes)
        if length < 2:
            return None
        if 0xC0 <= code <= 0xCF and code not in {0xC4, 0xC8, 0xCC}:
            frame = file.read(5)
            if len(frame) < 5:
                return None
            height, width = struct.unpack(">HH", frame[1:5])
            return _positive(width, height)
        file.seek(length - 2, os.SEEK_CUR)
    return None


def _positive(width: int, height: int) -> tuple[int, int] | None:
    return (width, height) if width > 0 and height > 0 else None


_IMAGE_SIZE_READERS = {
    "image/png": _png_size,
    "image/gif": _gif_size,
    "image/webp": _webp_size,
    "image/jpeg": _jpeg_size,
}
