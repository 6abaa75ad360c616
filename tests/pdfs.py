"""Real document bytes for tests: PDFs whose text pypdf can extract, a broken PDF, a PNG."""

import struct
import zlib

from fpdf import FPDF

# A PDF header followed by an object that never ends and no xref, trailer or %%EOF.
MALFORMED_PDF: bytes = (
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R\n\x00\xff"
)


def make_pdf(pages: list[str], *, title: str | None = None) -> bytes:
    """One page per string, Helvetica (latin-1 text only), optional metadata title."""
    pdf = FPDF()
    if title is not None:
        pdf.set_title(title)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def make_png(width: int, height: int) -> bytes:
    """A valid 8-bit grayscale PNG of the given size (all black)."""
    rows = (b"\x00" + b"\x00" * width) * height  # filter type 0 before each row
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
