"""Turn ``data:`` image URLs into decoded, size-checked images for :attr:`TaskContext.images`.

The server fetches nothing: only ``data:`` URLs of PNG, JPEG, GIF or WebP are accepted. Limits
are enigma-vision's for files (the core may not import a plugin, so they are restated here):
the size is read from the header and refused past :data:`MAX_PIXELS` before any pixel is
decoded. Runs in a worker thread.
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from typing import Any

from enigma_core.serve.errors import ApiError, invalid, quoted
from enigma_core.serve.validate import ImageRef

MIME_FORMATS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/jpg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
}
MAX_PIXELS = 1 << 24
"""Largest width × height decoded (4096x4096, enigma-vision's ``MAX_PIXELS`` for files)."""
MAX_BYTES_PER_IMAGE = 16 * 1024 * 1024
KEEP_SIDE = 1024
"""Longest side kept after decoding (the vision task works on 160-320 pixel copies)."""


def data_url_bytes(ref: ImageRef) -> tuple[str, bytes]:
    """(format, raw bytes) of a base64 ``data:`` URL; 400 naming the part when it is not one."""
    url = ref.url.strip()
    if not url.startswith("data:"):
        raise invalid(
            f"{ref.param}: only data: URLs are accepted (the server fetches no URL)",
            ref.param,
            "unsupported_image_url",
        )
    header, sep, payload = url[5:].partition(",")
    if not sep:
        raise invalid(f"{ref.param}: malformed data: URL (no comma)", ref.param, "invalid_image")
    fields = [f.strip().lower() for f in header.split(";")]
    mime = fields[0]
    if mime not in MIME_FORMATS:
        raise invalid(
            f"{ref.param}: image type {quoted(mime) if mime else 'missing'} is not supported "
            "(PNG, JPEG, GIF or WebP)",
            ref.param,
            "invalid_image",
        )
    if "base64" not in fields[1:]:
        raise invalid(f"{ref.param}: data: URL must be base64-encoded", ref.param, "invalid_image")
    if len(payload) > MAX_BYTES_PER_IMAGE * 4 // 3 + 4:
        raise invalid(f"{ref.param}: image larger than {MAX_BYTES_PER_IMAGE:,} bytes", ref.param)
    try:
        data = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise invalid(f"{ref.param}: invalid base64 data", ref.param, "invalid_image") from None
    if not data:
        raise invalid(f"{ref.param}: image data is empty", ref.param, "invalid_image")
    return MIME_FORMATS[mime], data


def _decode(data: bytes, fmt: str, param: str) -> Any:
    """Decode with Pillow after checking the header: format, then width × height, then pixels."""
    try:
        from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError
    except ImportError:
        raise invalid(
            f"{param}: this server cannot read images (install enigma-vision)",
            param,
            "images_unsupported",
        ) from None
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[fmt])
            width, height = image.size
            if width <= 0 or height <= 0 or width * height > MAX_PIXELS:
                raise invalid(
                    f"{param}: image too large to decode safely ({width}x{height} pixels, "
                    f"limit {MAX_PIXELS:,} pixels)",
                    param,
                    "image_too_large",
                )
            if fmt == "JPEG":
                image.draft("RGB", (1024, 1024))
            image.seek(0)
            image.load()
            image = ImageOps.exif_transpose(image)  # upright, as viewers show it
            if max(image.size) > KEEP_SIDE:
                image.thumbnail((KEEP_SIDE, KEEP_SIDE))  # tasks analyse small copies
    except ApiError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise invalid(
            f"{param}: image too large to decode safely", param, "image_too_large"
        ) from None
    except UnidentifiedImageError:
        raise invalid(
            f"{param}: not a readable {fmt} image (corrupt or another format)",
            param,
            "invalid_image",
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise invalid(f"{param}: cannot decode image ({detail})", param, "invalid_image") from None
    return image


def decode_images(refs: list[ImageRef]) -> list[Any]:
    """Every referenced image decoded (RGB-ish, upright, at most 1024 px long), in order."""
    out = []
    for ref in refs:
        fmt, data = data_url_bytes(ref)
        out.append(_decode(data, fmt, ref.param))
    return out
