import io
import json
from typing import Any

import pytest
from fpdf import FPDF
from PIL import Image

from app.documents.extraction import MAX_TEXT_CHARS, Extraction, ExtractionError, extract
from tests.pdfs import MALFORMED_PDF, make_pdf, make_png

ENGLISH = (
    "The committee met on Tuesday to review the budget for the coming year. Members agreed "
    "that the new library should be built before the end of the summer, but they asked for "
    "a more detailed plan of the costs."
)
GERMAN = (
    "Der Ausschuss traf sich am Dienstag, um den Haushalt für das kommende Jahr zu prüfen. "
    "Die Mitglieder waren sich einig, dass die neue Bibliothek vor dem Ende des Sommers gebaut "
    "werden soll, aber sie baten um einen genaueren Plan der Kosten."
)
FRENCH = (
    "Le comité s'est réuni mardi pour examiner le budget de l'année prochaine. Les membres "
    "ont convenu que la nouvelle bibliothèque devrait être construite avant la fin de l'été, "
    "mais ils ont demandé un plan plus détaillé des coûts."
)
SPANISH = (
    "El comité se reunió el martes para revisar el presupuesto del próximo año. Los miembros "
    "acordaron que la nueva biblioteca debe construirse antes del final del verano, pero "
    "pidieron un plan más detallado de los costes."
)
ITALIAN = (
    "Il comitato si è riunito martedì per esaminare il bilancio del prossimo anno. I membri "
    "hanno concordato che la nuova biblioteca dovrebbe essere costruita prima della fine "
    "dell'estate, ma hanno chiesto un piano più dettagliato dei costi."
)
DUTCH = (
    "De commissie kwam dinsdag bijeen om de begroting voor het komende jaar te bespreken. De "
    "leden waren het erover eens dat de nieuwe bibliotheek voor het einde van de zomer "
    "gebouwd moet worden, maar zij vroegen om een meer gedetailleerd plan van de kosten."
)
PORTUGUESE = (
    "O comitê reuniu-se na terça-feira para analisar o orçamento do próximo ano. Os membros "
    "concordaram que a nova biblioteca deve ser construída antes do fim do verão, mas pediram "
    "um plano mais detalhado dos custos."
)


def extract_bytes(data: bytes, content_type: str) -> Extraction:
    return extract(io.BytesIO(data), content_type)


def extract_text(text: str, content_type: str = "text/plain") -> Extraction:
    return extract_bytes(text.encode(), content_type)


def encode_image(
    image_format: str, size: tuple[int, int], mode: str = "RGB", **options: Any
) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "blue").save(buffer, image_format, **options)
    return buffer.getvalue()


def encrypted_pdf(*, user_password: str) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, "Secret quarterly numbers")
    pdf.set_encryption(owner_password="owner-secret", user_password=user_password)
    return bytes(pdf.output())


# --- PDF ----------------------------------------------------------------------------------


def test_pdf_text_of_every_page_with_page_count_and_title() -> None:
    data = make_pdf(
        ["Alpha page talks about apples.", "Beta page talks about oranges."],
        title="Fruit Report",
    )
    result = extract_bytes(data, "application/pdf")
    assert "Alpha page talks about apples." in result.text
    assert "Beta page talks about oranges." in result.text
    assert result.text.index("Alpha") < result.text.index("Beta")
    assert result.insights["page_count"] == 2
    assert result.insights["title"] == "Fruit Report"
    assert result.insights["word_count"] == 10
    assert result.insights["top_keywords"][:2] == [
        {"word": "page", "count": 2},
        {"word": "talks", "count": 2},
    ]


def test_pdf_without_title_metadata() -> None:
    result = extract_bytes(make_pdf([ENGLISH]), "application/pdf")
    assert result.insights["title"] is None
    assert result.insights["page_count"] == 1
    assert result.insights["language"] == "en"


def test_pdf_pages_without_text_count_as_pages() -> None:
    result = extract_bytes(make_pdf(["", "Only text", ""]), "application/pdf")
    assert result.text == "Only text"
    assert result.insights["page_count"] == 3


def test_malformed_pdf_is_an_extraction_error_with_a_short_reason() -> None:
    with pytest.raises(ExtractionError) as caught:
        extract_bytes(MALFORMED_PDF, "application/pdf")
    reason = str(caught.value)
    assert reason.startswith("not a readable PDF: ")
    assert "\n" not in reason
    assert "Traceback" not in reason
    assert len(reason) < 300


@pytest.mark.parametrize(
    "data",
    [b"", b"%PDF-", b"%PDF-1.4\n" + b"\x00" * 1000, make_pdf(["cut short"])[:400]],
    ids=["empty", "header-only", "nul-padding", "truncated"],
)
def test_broken_pdfs_are_extraction_errors(data: bytes) -> None:
    with pytest.raises(ExtractionError, match=r"^not a readable PDF"):
        extract_bytes(data, "application/pdf")


def test_pdf_that_needs_a_password_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError, match="password"):
        extract_bytes(encrypted_pdf(user_password="hunter2"), "application/pdf")


def test_pdf_encrypted_with_an_empty_user_password_is_read() -> None:
    result = extract_bytes(encrypted_pdf(user_password=""), "application/pdf")
    assert result.text == "Secret quarterly numbers"


def test_pdf_text_is_capped() -> None:
    # 90 pages of about 2 400 characters: more than the cap, each fitting on its page.
    pages = [f"marker{n:03d} " + "lorem ipsum dolor sit amet " * 88 for n in range(90)]
    result = extract_bytes(make_pdf(pages), "application/pdf")
    assert len(result.text) == MAX_TEXT_CHARS
    assert result.insights["truncated"] is True
    assert result.insights["page_count"] == 90
    assert result.text.startswith("marker000 lorem")
    assert "marker089" not in result.text


# --- Plain text and markdown --------------------------------------------------------------


def test_plain_text_emails_and_urls_in_order_and_unique() -> None:
    text = (
        "Write to alice@example.com or Bob.Smith+news@mail.example.co.uk. Again: "
        "alice@example.com! See https://example.com/docs, (http://example.org/a?b=1) and "
        "https://en.wikipedia.org/wiki/Python_(programming_language). "
        "Also https://example.com/docs. "
        "Not these: ftp://example.net, user@localhost, https://, @example.com."
    )
    insights = extract_text(text).insights
    assert insights["emails"] == ["alice@example.com", "Bob.Smith+news@mail.example.co.uk"]
    assert insights["urls"] == [
        "https://example.com/docs",
        "http://example.org/a?b=1",
        "https://en.wikipedia.org/wiki/Python_(programming_language)",
    ]
    assert insights["title"] is None
    assert insights["page_count"] is None


def test_emails_and_urls_are_capped_at_50() -> None:
    text = " ".join(f"user{n}@example.com https://example.com/{n}" for n in range(80))
    insights = extract_text(text).insights
    assert insights["emails"] == [f"user{n}@example.com" for n in range(50)]
    assert insights["urls"] == [f"https://example.com/{n}" for n in range(50)]


def test_markdown_is_indexed_without_markup() -> None:
    source = (
        "# Release *Notes*\n"
        "\n"
        'Read the **full** [changelog](https://example.com/changes "Changes") and '
        "![diagram](https://img.example.com/d.png) or <https://auto.example.org>.\n"
        "Mail [us](mailto:team@example.com), see [the spec][spec].\n"
        "\n"
        "> quoted _remark_\n"
        "- item `inline_code`\n"
        "2. second\n"
        "\n"
        "| col | other |\n"
        "|-----|:-----:|\n"
        "\n"
        "```python\n"
        "# not a heading\n"
        "def keep_me(): ...\n"
        "```\n"
        "## Details ##\n"
        "[spec]: https://spec.example.net/v1\n"
    )
    result = extract_text(source, "text/markdown")
    assert result.text.splitlines() == [
        "Release Notes",
        "",
        "Read the full changelog and diagram or https://auto.example.org.",
        "Mail us, see the spec.",
        "",
        "quoted remark",
        "item inline_code",
        "second",
        "",
        "col   other",
        "",
        "# not a heading",
        "def keep_me(): ...",
        "Details",
    ]
    assert result.insights["title"] == "Release Notes"
    assert result.insights["urls"] == [
        "https://example.com/changes",
        "https://img.example.com/d.png",
        "https://auto.example.org",
        "https://spec.example.net/v1",
    ]
    assert result.insights["emails"] == ["team@example.com"]


def test_markdown_setext_heading_is_the_title() -> None:
    result = extract_text("Intro text\n\nBig Title\n=========\n\n# Later\n", "text/markdown")
    assert result.insights["title"] == "Big Title"
    assert "=" not in result.text


def test_markdown_without_heading_has_no_title() -> None:
    result = extract_text("just words\n\n---\n\nmore words\n", "text/markdown")
    assert result.insights["title"] is None
    assert result.text.split() == ["just", "words", "more", "words"]


def test_plain_text_keeps_markdown_characters() -> None:
    assert extract_text("# not a title *really*").text == "# not a title *really*"


def test_nul_and_control_characters_are_removed() -> None:
    result = extract_text("a\x00b\x1bc\x7fd\u0085e\r\nline\rnext\ttab\x0cpage")
    assert result.text == "abcde\nline\nnext\ttab\npage"
    assert "\x00" not in result.text


def test_invalid_utf8_is_replaced_and_bom_dropped() -> None:
    result = extract_bytes(b"\xef\xbb\xbfcaf\xe9 ok", "text/plain")
    assert result.text == "caf\ufffd ok"


def test_text_is_read_from_the_start_of_the_file() -> None:
    file = io.BytesIO(b"already written")
    file.seek(0, io.SEEK_END)
    assert extract(file, "text/plain").text == "already written"


def test_content_type_parameters_are_ignored() -> None:
    assert extract_text("hi", "Text/Plain; charset=utf-8").text == "hi"


def test_text_longer_than_the_cap_is_truncated_and_flagged() -> None:
    result = extract_text("é" * (MAX_TEXT_CHARS + 10))
    assert result.text == "é" * MAX_TEXT_CHARS
    assert result.insights["truncated"] is True
    assert result.insights["char_count"] == MAX_TEXT_CHARS


def test_text_of_exactly_the_cap_is_not_truncated() -> None:
    result = extract_text("x" * MAX_TEXT_CHARS)
    assert len(result.text) == MAX_TEXT_CHARS
    assert result.insights["truncated"] is False


def test_markdown_longer_than_the_cap_is_flagged() -> None:
    result = extract_text("**word** " * (MAX_TEXT_CHARS // 5), "text/markdown")
    assert result.insights["truncated"] is True
    assert len(result.text) <= MAX_TEXT_CHARS
    assert "*" not in result.text


# --- Insights -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (ENGLISH, "en"),
        (GERMAN, "de"),
        (FRENCH, "fr"),
        (SPANISH, "es"),
        (ITALIAN, "it"),
        (DUTCH, "nl"),
        (PORTUGUESE, "pt"),
    ],
)
def test_language_of_a_paragraph(text: str, language: str) -> None:
    assert extract_text(text).insights["language"] == language


@pytest.mark.parametrize(
    "text",
    ["the cat sat", "", "1234 5678 9012", "東京 大阪 京都 札幌 横浜", "Lorem ipsum dolor sit amet"],
)
def test_language_is_unknown_without_enough_evidence(text: str) -> None:
    assert extract_text(text).insights["language"] == "unknown"


def test_language_is_unknown_for_an_even_mix() -> None:
    mixed = "the and of to is in that it " + "der und die das ist zu den mit "
    assert extract_text(mixed).insights["language"] == "unknown"


def test_keywords_are_ordered_by_count_then_word() -> None:
    text = (
        "Zebra apple zebra mango. Apple zebra banana! The THE the and of a an "
        "is 2024 2024 2024 ox ox ox ox api_key"
    )
    insights = extract_text(text).insights
    assert insights["top_keywords"] == [
        {"word": "zebra", "count": 3},
        {"word": "apple", "count": 2},
        {"word": "api", "count": 1},
        {"word": "banana", "count": 1},
        {"word": "key", "count": 1},
        {"word": "mango", "count": 1},
    ]
    assert insights["word_count"] == 24


def test_at_most_ten_keywords() -> None:
    words = [f"word{chr(ord('a') + n)}" for n in range(15)]
    text = " ".join(word for n, word in enumerate(words) for _ in range(20 - n))
    keywords = extract_text(text).insights["top_keywords"]
    assert [k["word"] for k in keywords] == words[:10]
    assert [k["count"] for k in keywords] == list(range(20, 10, -1))


def test_addresses_do_not_become_keywords() -> None:
    keywords = extract_text("https://www.example.com/page mail@example.com").insights[
        "top_keywords"
    ]
    assert keywords == []


def test_english_stop_words_are_not_german_keywords_in_english_text() -> None:
    # "war" and "die" are German function words but real words in English prose.
    text = ENGLISH + " The war will not die, and the war goes on."
    keywords = [k["word"] for k in extract_text(text).insights["top_keywords"]]
    assert keywords[0] == "war"
    assert "die" in keywords


def test_insights_have_every_key_and_are_json() -> None:
    insights = extract_text("").insights
    assert insights == {
        "word_count": 0,
        "char_count": 0,
        "language": "unknown",
        "top_keywords": [],
        "emails": [],
        "urls": [],
        "page_count": None,
        "truncated": False,
        "title": None,
    }
    full = extract_bytes(make_pdf([ENGLISH], title="T"), "application/pdf").insights
    assert json.loads(json.dumps(full)) == full


# --- Images -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (make_png(37, 19), "image/png"),
        (encode_image("GIF", (37, 19)), "image/gif"),
        (encode_image("JPEG", (37, 19)), "image/jpeg"),
        (encode_image("JPEG", (37, 19), progressive=True), "image/jpeg"),
        (encode_image("WEBP", (37, 19)), "image/webp"),
        (encode_image("WEBP", (37, 19), lossless=True), "image/webp"),
        (encode_image("WEBP", (37, 19), mode="RGBA"), "image/webp"),
    ],
    ids=["png", "gif", "jpeg", "jpeg-progressive", "webp-vp8", "webp-vp8l", "webp-vp8x"],
)
def test_image_dimensions_from_the_header(data: bytes, content_type: str) -> None:
    result = extract_bytes(data, content_type)
    assert result.text == ""
    assert result.insights["image"] == {"width": 37, "height": 19}
    assert result.insights["word_count"] == 0


def test_jpeg_dimensions_behind_a_large_exif_segment() -> None:
    exif = Image.Exif()
    exif[0x010E] = "description " * 4000  # an APP1 segment of about 48 kB before the frame
    data = encode_image("JPEG", (640, 480), exif=exif.tobytes())
    assert data.index(b"\xff\xc0") > 40_000
    assert extract_bytes(data, "image/jpeg").insights["image"] == {"width": 640, "height": 480}


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (make_png(4, 4), "image/jpeg"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\xff\xd8" + b"\xff" * 100, "image/jpeg"),
        (b"GIF89a\x00\x00\x05\x00", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 14, "image/webp"),
    ],
    ids=["png-cut", "png-as-jpeg", "jpeg-cut", "jpeg-fill-only", "gif-zero-width", "webp-bad"],
)
def test_unparseable_image_headers_omit_dimensions(data: bytes, content_type: str) -> None:
    result = extract_bytes(data, content_type)
    assert "image" not in result.insights
    assert result.insights["char_count"] == 0


@pytest.mark.parametrize("content_type", ["application/zip", "text/html", "image/svg+xml", ""])
def test_unknown_content_type_is_an_extraction_error(content_type: str) -> None:
    with pytest.raises(ExtractionError, match="unsupported content type"):
        extract_bytes(b"data", content_type)
