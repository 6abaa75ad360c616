import io

import pytest
from PIL import Image

from app.documents.sniff import (
    ALLOWED_TYPES,
    SNIFF_BYTES,
    detect_content_type,
    extension_matches,
    sanitize_filename,
)
from tests.pdfs import MALFORMED_PDF, make_pdf, make_png


def encode_image(image_format: str, mode: str = "RGB", **options: object) -> bytes:
    """Bytes from a real encoder (Pillow comes with fpdf2), not hand-written headers."""
    buffer = io.BytesIO()
    Image.new(mode, (40, 30), "red").save(buffer, image_format, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (make_pdf(["hello"]), "report.pdf", "application/pdf"),
        (MALFORMED_PDF, "broken.pdf", "application/pdf"),  # sniffing is not validation
        (make_png(3, 2), "pixel.png", "image/png"),
        (encode_image("JPEG"), "photo.jpg", "image/jpeg"),
        (encode_image("GIF"), "anim.gif", "image/gif"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "anim.gif", "image/gif"),
        (encode_image("WEBP"), "photo.webp", "image/webp"),
        (encode_image("WEBP", lossless=True), "photo.webp", "image/webp"),
        (b"plain words\n", "notes.txt", "text/plain"),
        (b"# Title\n\n*emphasis*\n", "README.md", "text/markdown"),
        (b"# Title\n", "guide.MARKDOWN", "text/markdown"),
        (b"# Title\n", "guide", "text/plain"),
        ("\ufeffWith a BOM\r\n\tand\ftabs".encode(), "bom.txt", "text/plain"),
        ("Grüße, 東京, emoji 🎉".encode(), "intl.txt", "text/plain"),
        (b"<3 this, and 1 < 2 > 0", "love.txt", "text/plain"),
        (b"a,b\n1,2\n", "data.csv", "text/plain"),
    ],
)
def test_allowed_types_are_detected_from_their_bytes(
    data: bytes, filename: str, expected: str
) -> None:
    assert detect_content_type(data[:SNIFF_BYTES], filename) == expected
    assert expected in ALLOWED_TYPES


def test_the_claimed_name_does_not_change_binary_types() -> None:
    assert detect_content_type(make_png(1, 1), "notes.md") == "image/png"
    assert detect_content_type(make_pdf(["x"]), "image.png") == "application/pdf"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"PK\x03\x04\x14\x00\x00\x00\x08\x00", id="zip"),
        pytest.param(b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8, id="elf"),
        pytest.param(b"MZ\x90\x00\x03\x00\x00\x00", id="exe"),
        pytest.param(b"<!DOCTYPE html><html><body>hi</body></html>", id="html-doctype"),
        pytest.param(b"  \n\t<html><script>alert(1)</script></html>", id="html-indented"),
        pytest.param(b"<script>alert(1)</script>", id="script"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', id="svg"),
        pytest.param(b'<?xml version="1.0"?><svg/>', id="xml"),
        pytest.param(b"<!-- comment --><p>hi</p>", id="html-comment"),
        pytest.param(b"\xef\xbb\xbf<html></html>", id="html-behind-bom"),
        pytest.param(b"text with a \x00 NUL", id="nul"),
        pytest.param(b"\x1b[31mred\x1b[0m", id="escape-sequence"),
        pytest.param(b"caf\xe9 au lait", id="latin-1"),
        pytest.param(bytes(range(256)), id="random-binary"),
        pytest.param("utf-16 text".encode("utf-16"), id="utf-16"),
        pytest.param(b"RIFF\x00\x00\x00\x00WAVEfmt ", id="riff-wave"),
    ],
)
def test_other_content_is_refused(data: bytes) -> None:
    assert detect_content_type(data, "upload.txt") is None


def test_markup_is_refused_even_with_a_markdown_name() -> None:
    assert detect_content_type(b"<div>hi</div>", "README.md") is None


def test_a_character_cut_by_the_sniff_window_is_tolerated() -> None:
    data = ("a" * (SNIFF_BYTES - 1) + "é and more").encode()
    head = data[:SNIFF_BYTES]
    assert head.endswith(b"\xc3")  # the window ends inside the two-byte "é"
    assert detect_content_type(head, "long.txt") == "text/plain"
    assert detect_content_type(data, "long.txt") == "text/plain"  # extra bytes are ignored


def test_a_cut_character_at_the_real_end_of_a_short_file_is_not_text() -> None:
    assert detect_content_type("short é".encode()[:-1], "short.txt") is None


def test_invalid_utf8_inside_the_window_is_not_text() -> None:
    head = b"\xff" + b"a" * (SNIFF_BYTES - 1)
    assert detect_content_type(head, "long.txt") is None


@pytest.mark.parametrize(
    ("filename", "content_type", "expected"),
    [
        ("invoice.pdf", "image/png", False),
        ("invoice.PDF", "application/pdf", True),
        ("photo.jpg", "image/jpeg", True),
        ("photo.jpeg", "image/png", False),
        ("photo.png", "image/gif", False),
        ("anim.gif", "image/gif", True),
        ("photo.webp", "image/jpeg", False),
        ("notes.txt", "text/markdown", True),
        ("notes.md", "text/plain", True),
        ("data.csv", "text/plain", True),
        ("server.log", "text/plain", True),
        ("notes.text", "application/pdf", False),
        ("readme.markdown", "image/png", False),
        ("evil.pdf.", "text/plain", False),  # Windows drops the trailing dot: still a .pdf
        ("archive.tar.gz", "application/pdf", True),
        ("Makefile", "text/plain", True),
        ("scan.tiff", "image/png", True),
        ("dir.pdf/notes", "text/plain", True),
    ],
)
def test_extension_matches(filename: str, content_type: str, expected: bool) -> None:
    assert extension_matches(filename, content_type) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\evil.pdf", "evil.pdf"),
        ("/srv/uploads/", "file"),
        ("inv\x00oice.pdf", "invoice.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("a\u2066b\u2069c\u200b.txt", "abc.txt"),
        ("line\nbreak\ttab.txt", "line break tab.txt"),
        ("  many    spaces  .txt", "many spaces .txt"),
        (".bashrc", "bashrc"),
        ("..", "file"),
        ("...", "file"),
        (" . . ", "file"),
        ("", "file"),
        (None, "file"),
        ('a"b<c>d:e|f?g*h.pdf', "a_b_c_d_e_f_g_h.pdf"),
        ("trailing dots...", "trailing dots"),
        ("e\u0301te\u0301.txt", "\u00e9t\u00e9.txt"),  # NFC: one code point per letter
        ("CON.txt", "_CON.txt"),
        ("nul", "_nul"),
        ("console.txt", "console.txt"),
        ("\ud800lone.txt", "lone.txt"),
    ],
)
def test_sanitize_filename(raw: str | None, expected: str) -> None:
    assert sanitize_filename(raw) == expected


def test_long_names_are_cut_to_255_bytes_keeping_the_extension() -> None:
    result = sanitize_filename("x" * 300 + ".pdf")
    assert result == "x" * 251 + ".pdf"
    assert len(result.encode()) == 255


def test_truncation_never_splits_a_multibyte_character() -> None:
    result = sanitize_filename("😀" * 100 + ".png")  # 400 bytes of four-byte characters
    assert result.endswith(".png")
    assert len(result.encode()) <= 255
    assert result == "😀" * 62 + ".png"  # 62 * 4 + 4 = 252: a 63rd emoji would not fit


def test_truncation_without_an_extension() -> None:
    result = sanitize_filename("é" * 200)
    assert result == "é" * 127
    assert len(result.encode()) == 254


def test_an_overlong_extension_is_not_preserved() -> None:
    result = sanitize_filename("name." + "y" * 300)
    assert result == ("name." + "y" * 300)[:255]


@pytest.mark.parametrize(
    "raw",
    ["\x00\x00", "\u202e\u202e", "\\\\", "///", "\u200b", ". ..\t.", "\x7f\x1b"],
)
def test_nothing_left_falls_back_to_file(raw: str) -> None:
    assert sanitize_filename(raw) == "file"


def test_sanitized_names_are_stable() -> None:
    for raw in ["../../etc/passwd", "invoice\u202efdp.exe", "😀" * 100 + ".png", "a:b?.txt"]:
        once = sanitize_filename(raw)
        assert sanitize_filename(once) == once
