"""Safe image loading: header checks before decoding, one-line errors, a small RGB array out.

Every image the plugin reads goes through :func:`load_image`, so decompression bombs, missing,
corrupt and truncated files are refused here, cleanly, before any pixel buffer is allocated.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from enigma_core.errors import EnigmaError

ANALYSIS_SIDE = 160
"""Longest side (pixels) of the downscaled copy every feature is computed on."""

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
    """The largest image (width × height) we agree to decode: Pillow's own bomb limit."""
    limit = Image.MAX_IMAGE_PIXELS
    return int(limit) if limit else 89_478_485


def _open_checked(path: Path) -> Image.Image:
    """Open ``path`` lazily (header only) and refuse oversized or unknown images."""
    name = str(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
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
    if width * height > max_pixels():
        image.close()
        raise EnigmaError(
            f"{name}: image too large to decode safely ({width}x{height} pixels, "
            f"limit {max_pixels()} pixels)"
        )
    return image


def _one_line(exc: BaseException) -> str:
    """The first line of an exception message, or its type name when it has none."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any mode to RGB; transparent pixels are composited over white."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) * (255.0 / (high - low)) if high > low else array * 0
        image = Image.fromarray(scaled.astype(np.uint8), "L")
    return image.convert("RGB")


def load_image(
    path: str | os.PathLike[str], side: int = ANALYSIS_SIDE, gray_side: int = 0
) -> LoadedImage:
    """Decode ``path`` (first frame) into a downscaled RGB array; refuse bad files in one line.

    ``gray_side`` > 0 also returns a grayscale copy of that longest side (for face detection).
    The size is read from the header and checked against :func:`max_pixels` before decoding;
    JPEGs are decoded at a reduced scale directly (``draft``), so large photos stay cheap. An
    EXIF orientation tag is applied, so width, height and "upper half" mean what a viewer sees.
    """
    file = Path(os.path.expanduser(str(path)))
    name = str(path)
    if not file.exists():
        raise EnigmaError(f"{name}: no such image file")
    if not file.is_file():
        raise EnigmaError(f"{name}: not a file")
    if not os.access(file, os.R_OK):
        raise EnigmaError(f"{name}: image file is not readable (permission denied)")
    if file.stat().st_size == 0:
        raise EnigmaError(f"{name}: image file is empty")
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        ImageFile.LOAD_TRUNCATED_IMAGES = False  # truncated files must fail, not be padded grey
    image = _open_checked(file)
    try:
        width, height = image.size
        fmt = image.format or "unknown"
        frames = int(getattr(image, "n_frames", 1)) if fmt != "GIF" else 1
        try:
            image.seek(0)
            if fmt == "JPEG":
                wanted = max(side, gray_side)
                image.draft("RGB", (wanted, wanted))
            image.load()
            turn = _TRANSPOSE.get(_orientation(image))  # after load: PNG keeps EXIF at the end
            if turn in _QUARTER_TURNS:
                width, height = height, width
            rgb = _to_rgb(image)
            if turn is not None:
                rgb = rgb.transpose(turn)
            gray = None
            if gray_side > 0:
                big = rgb.copy()
                big.thumbnail((gray_side, gray_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
                gray = np.asarray(big.convert("L"), dtype=np.uint8).copy()
            rgb.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
            pixels = np.asarray(rgb, dtype=np.uint8).copy()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise EnigmaError(f"{name}: image too large to decode safely ({exc})") from None
        except (OSError, ValueError, SyntaxError, EOFError, IndexError) as exc:
            raise EnigmaError(f"{name}: corrupt or truncated image ({_one_line(exc)})") from None
    finally:
        image.close()
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.size == 0:
        raise EnigmaError(f"{name}: image decoded to an unexpected shape {pixels.shape}")
    return LoadedImage(str(path), width, height, fmt, pixels, frames, gray)
