"""Safe image loading: header checks before decoding, one-line errors, a small RGB array out.

Every image the plugin reads goes through :func:`load_image` (files), :func:`decode_image_bytes`
(uploads) or :func:`loaded_from_image` (images attached to a request), so decompression bombs,
corrupt and truncated data are refused here, cleanly, before any large pixel buffer exists.
At most :data:`MAX_PIXELS` are decoded (JPEGs are decoded reduced, with ``draft``), and deep
16-bit images are reduced before they become float arrays.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from typing import IO

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from enigma_core.context import FileAccess
from enigma_core.errors import EnigmaError
from enigma_vision.access import open_image_file, shown

ANALYSIS_SIDE = 160
"""Longest side (pixels) of the downscaled copy every feature is computed on."""
UPLOAD_SIDE = 320
"""Longest side the analysis of an uploaded image needs (the face detector's copy)."""
MAX_PIXELS = 1 << 24
"""The most pixels (4096x4096) decoded at full size: ~5x below Pillow's bomb limit, which let a
172 KB 16-bit PNG take 2 GB. A larger JPEG is fine when ``draft`` decodes it under this."""
MAX_IMAGE_BYTES = 64 << 20
"""The largest encoded image accepted from memory (:func:`decode_image_bytes`)."""
_HIGH_DEPTH = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")

SUPPORTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")

_EXIF_ORIENTATION = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
"""EXIF orientation → the transpose that shows the picture upright (as cameras intend)."""
_QUARTER_TURNS = {_TRANSPOSE[5], _TRANSPOSE[6], _TRANSPOSE[7], _TRANSPOSE[8]}


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation tag (1 = upright) of an opened image; 1 when absent or unreadable."""
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except (OSError, ValueError, SyntaxError, TypeError):
        return 1
    return value if isinstance(value, int) and value in _TRANSPOSE else 1


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image: its original size and format plus a small RGB copy for analysis."""

    path: str
    width: int
    height: int
    format: str
    pixels: np.ndarray  # uint8, shape (h, w, 3), longest side <= ANALYSIS_SIDE
    frames: int = 1
    gray: np.ndarray | None = None  # uint8 (h, w), larger copy for face detection, on request


def max_pixels() -> int:
    """The largest image header (width x height) we agree to open: Pillow's own bomb limit.

    Only JPEGs get this far (decoded reduced); other formats are held to :data:`MAX_PIXELS`.
    """
    limit = Image.MAX_IMAGE_PIXELS
    return int(limit) if limit else 89_478_485


def _too_large(name: str, width: int, height: int, limit: int) -> EnigmaError:
    """The one-line refusal of an image over ``limit`` pixels."""
    return EnigmaError(
        f"{name}: image too large to decode safely ({width}x{height} pixels, limit {limit} pixels)"
    )


def _open_checked(source: IO[bytes], name: str) -> Image.Image:
    """Open ``source`` lazily (header only) and refuse oversized or unknown images."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(source)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise EnigmaError(f"{name}: image too large to decode safely ({exc})") from None
    except UnidentifiedImageError:
        raise EnigmaError(f"{name}: not a readable image (unknown or corrupt format)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise EnigmaError(f"{name}: cannot read image ({_one_line(exc)})") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        image.close()
        raise EnigmaError(f"{name}: image has an empty size {width}x{height}")
    limit = max_pixels() if image.format == "JPEG" else MAX_PIXELS
    if width * height > limit:
        image.close()
        raise _too_large(name, width, height, limit)
    return image


def _one_line(exc: BaseException) -> str:
    """The first line of an exception message, or its type name when it has none."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _reduce_factor(size: tuple[int, int], wanted: int) -> int:
    """The integer box-reduction that keeps the longest side at least twice ``wanted``."""
    return max(1, max(size) // (2 * max(1, wanted)))


def _to_rgb(image: Image.Image, wanted: int = ANALYSIS_SIDE) -> Image.Image:
    """Convert any mode to RGB; transparent pixels are composited over white.

    Deep (16/32-bit) images are first box-reduced towards ``wanted`` pixels, then stretched to
    8 bits on that small copy, so no full-size float array is ever made.
    """
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode in _HIGH_DEPTH:
        if image.mode not in ("I", "F"):
            image = image.convert("I")  # Pillow reduces only I and F of the deep modes
        factor = _reduce_factor(image.size, wanted)
        if factor > 1:
            image = image.reduce(factor)
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) * (255.0 / (high - low)) if high > low else array * 0
        image = Image.fromarray(scaled.astype(np.uint8), "L")
    return image.convert("RGB")


@dataclass(frozen=True)
class _Decoded:
    """An upright RGB image plus what its file said (size as a viewer sees it, format)."""

    rgb: Image.Image
    width: int
    height: int
    format: str
    frames: int


def _decode(image: Image.Image, name: str, wanted: int) -> _Decoded:
    """Decode the first frame of an opened image, reduced when possible, upright and RGB."""
    width, height = image.size
    fmt = image.format or "unknown"
    try:
        frames = int(getattr(image, "n_frames", 1)) if fmt != "GIF" else 1
        image.seek(0)
        if fmt == "JPEG":
            image.draft("RGB", (wanted, wanted))
        if image.size[0] * image.size[1] > MAX_PIXELS:
            raise _too_large(name, width, height, MAX_PIXELS)
        image.load()
        turn = _TRANSPOSE.get(_orientation(image))  # after load: PNG keeps EXIF at the end
        if turn in _QUARTER_TURNS:
            width, height = height, width
        rgb = _to_rgb(image, wanted)
        if turn is not None:
            rgb = rgb.transpose(turn)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise EnigmaError(f"{name}: image too large to decode safely ({exc})") from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError) as exc:
        raise EnigmaError(f"{name}: corrupt or truncated image ({_one_line(exc)})") from None
    return _Decoded(rgb, width, height, fmt, frames)


def _analysis_copies(
    rgb: Image.Image, name: str, side: int, gray_side: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """The small RGB array (longest side ``side``) and, on request, a grayscale one.

    ``rgb`` must be this call's own image: it is shrunk in place.
    """
    gray = None
    if gray_side > 0:
        big = rgb.copy()
        big.thumbnail((gray_side, gray_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
        gray = np.asarray(big.convert("L"), dtype=np.uint8).copy()
    rgb.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    pixels = np.asarray(rgb, dtype=np.uint8).copy()
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.size == 0:
        raise EnigmaError(f"{name}: image decoded to an unexpected shape {pixels.shape}")
    return pixels, gray


def load_image(
    path: str | os.PathLike[str],
    side: int = ANALYSIS_SIDE,
    gray_side: int = 0,
    files: FileAccess | None = None,
) -> LoadedImage:
    """Decode ``path`` (first frame) into a downscaled RGB array; refuse bad files in one line.

    ``files`` (default: the local user's) says which paths may be opened; absent and forbidden
    files get the same message. ``gray_side`` > 0 also returns a grayscale copy of that longest
    side (for face detection). The size is read from the header and checked before decoding;
    JPEGs are decoded at a reduced scale directly (``draft``), so large photos stay cheap. An
    EXIF orientation tag is applied, so width, height and "upper half" mean what a viewer sees.
    """
    name = shown(os.fspath(path))
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        ImageFile.LOAD_TRUNCATED_IMAGES = False  # truncated files must fail, not be padded grey
    with open_image_file(os.fspath(path), files or FileAccess.user()) as source:
        if os.fstat(source.fileno()).st_size == 0:
            raise EnigmaError(f"{name}: image file is empty")
        image = _open_checked(source, name)
        try:
            decoded = _decode(image, name, max(side, gray_side))
        finally:
            image.close()
    pixels, gray = _analysis_copies(decoded.rgb, name, side, gray_side)
    return LoadedImage(
        os.fspath(path), decoded.width, decoded.height, decoded.format, pixels,
        decoded.frames, gray,
    )  # fmt: skip


def decode_image_bytes(data: bytes) -> Image.Image:
    """Decode an uploaded image (file bytes) under the same limits as files; RGB, upright.

    Raises a one-line :class:`EnigmaError` for empty, oversized (:data:`MAX_IMAGE_BYTES`,
    :data:`MAX_PIXELS`), unknown, corrupt or truncated data. The result is box-reduced to at
    most about 4x :data:`UPLOAD_SIDE` on its longest side (all the vision task analyses);
    ``info["enigma_size"]`` and ``info["enigma_format"]`` keep the original size and format.
    """
    name = "uploaded image"
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise EnigmaError(f"{name}: expected the file's bytes, got {type(data).__name__}")
    size = len(data)
    if size == 0:
        raise EnigmaError(f"{name}: image is empty")
    if size > MAX_IMAGE_BYTES:
        raise EnigmaError(f"{name}: {size} bytes is over the limit of {MAX_IMAGE_BYTES} bytes")
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        ImageFile.LOAD_TRUNCATED_IMAGES = False
    image = _open_checked(io.BytesIO(bytes(data)), name)
    try:
        decoded = _decode(image, name, UPLOAD_SIDE)
    finally:
        image.close()
    rgb = decoded.rgb
    factor = _reduce_factor(rgb.size, UPLOAD_SIDE)
    if factor > 1:
        rgb = rgb.reduce(factor)
    rgb.info["enigma_size"] = (decoded.width, decoded.height)
    rgb.info["enigma_format"] = decoded.format
    return rgb


def loaded_from_image(
    image: Image.Image, side: int = ANALYSIS_SIDE, gray_side: int = 0, name: str = "image"
) -> LoadedImage:
    """The analysis copies of an already decoded image (e.g. from :func:`decode_image_bytes`);
    the image itself is not changed."""
    if not isinstance(image, Image.Image):
        raise EnigmaError(f"{name}: not a decoded image ({type(image).__name__})")
    width, height = image.size
    if width <= 0 or height <= 0:
        raise EnigmaError(f"{name}: image has an empty size {width}x{height}")
    if width * height > MAX_PIXELS:
        raise _too_large(name, width, height, MAX_PIXELS)
    try:
        rgb = _to_rgb(image, max(side, gray_side))  # always a new image (convert copies)
    except (OSError, ValueError) as exc:
        raise EnigmaError(f"{name}: cannot use this image ({_one_line(exc)})") from None
    width, height = image.info.get("enigma_size", image.size)
    fmt = str(image.info.get("enigma_format") or image.format or "unknown")
    pixels, gray = _analysis_copies(rgb, name, side, gray_side)
    return LoadedImage(name, int(width), int(height), fmt, pixels, 1, gray)
