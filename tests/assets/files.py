"""Real media files made in the tests: PNG and JPEG (Pillow), a minimal MP4 and a PDF."""

from __future__ import annotations

import io
import struct

from PIL import Image


def png(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 102, 194)).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg(width: int = 120, height: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (250, 160, 20)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def pdf() -> bytes:
    buffer = io.BytesIO()
    pages = [Image.new("RGB", (200, 100), colour) for colour in ("white", "grey")]
    pages[0].save(buffer, "PDF", save_all=True, append_images=pages[1:])
    return buffer.getvalue()


def mp4(size: int) -> bytes:
    """An MP4 of `size` bytes: an `ftyp` box, then one `mdat` box filling the rest."""
    brands = b"isom" + struct.pack(">I", 512) + b"isomiso2mp41"
    ftyp = struct.pack(">I", 8 + len(brands)) + b"ftyp" + brands
    payload = size - len(ftyp) - 8
    pattern = bytes(range(256))
    data = (pattern * (payload // 256 + 1))[:payload]
    return ftyp + struct.pack(">I", 8 + payload) + b"mdat" + data
