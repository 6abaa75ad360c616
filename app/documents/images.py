"""Image dimensions read from file headers (PNG, GIF, WebP, JPEG), without decoding."""

import os
import struct
from typing import IO

_JPEG_MAX_SEGMENTS = 256  # a header this long is not a JPEG we want to measure


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


IMAGE_SIZE_READERS = {
    "image/png": _png_size,
    "image/gif": _gif_size,
    "image/webp": _webp_size,
    "image/jpeg": _jpeg_size,
}
