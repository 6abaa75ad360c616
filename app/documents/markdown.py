"""Markdown to plain text for indexing, and the document's first heading as its title."""

import html
import re

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
