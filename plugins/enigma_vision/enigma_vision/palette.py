"""The fixed colour palette: every colour the plugin may ever name, with its reference RGB.

Pixels are named by their nearest palette entry in CIE Lab space, so "red" in a caption always
means the same thing and the procedural generator draws with exactly these references.
"""

from __future__ import annotations

import numpy as np

PALETTE: dict[str, tuple[int, int, int]] = {
    "black": (15, 15, 15),
    "gray": (128, 128, 128),
    "white": (245, 245, 245),
    "red": (210, 30, 35),
    "orange": (245, 135, 20),
    "yellow": (245, 215, 35),
    "green": (45, 160, 60),
    "teal": (25, 160, 160),
    "blue": (35, 80, 210),
    "purple": (125, 50, 165),
    "pink": (240, 125, 185),
    "brown": (120, 75, 35),
}
"""Colour name → reference RGB. Order is the index used by :func:`quantize`."""

COLOUR_NAMES: tuple[str, ...] = tuple(PALETTE)
NEUTRALS = frozenset({"black", "gray", "white"})


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """Convert uint8/float RGB values (…, 3) in 0–255 to CIE Lab (D65), as float32."""
    c = np.asarray(rgb, dtype=np.float32) / 255.0
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    m = np.array(
        [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]],
        dtype=np.float32,
    )
    xyz = c @ m.T / np.array([0.95047, 1.0, 1.08883], dtype=np.float32)
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16.0 / 116.0)
    lab = np.stack(
        [
            116.0 * f[..., 1] - 16.0,
            500.0 * (f[..., 0] - f[..., 1]),
            200.0 * (f[..., 1] - f[..., 2]),
        ],
        axis=-1,
    )
    return lab.astype(np.float32)


HUE_BANDS: tuple[tuple[float, float, str], ...] = (
    (15.0, 50.0, "red"),
    (50.0, 75.0, "orange"),
    (75.0, 110.0, "yellow"),
    (110.0, 170.0, "green"),
    (170.0, 230.0, "teal"),
    (230.0, 312.0, "blue"),
    (312.0, 335.0, "purple"),
)
"""Lab hue-angle bands (degrees) of the chromatic names; the rest of the circle is pink/red."""


def quantize(pixels: np.ndarray) -> np.ndarray:
    """Palette index of every pixel of an RGB array (h, w, 3) → int array (h, w).

    Names follow lightness, chroma and hue in Lab (as people name colours), not the nearest
    reference: a dark desaturated blue is "blue", not "gray". Every reference maps to itself.
    """
    lab = rgb_to_lab(pixels)
    lightness, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    chroma = np.hypot(a, b)
    hue = np.degrees(np.arctan2(b, a)) % 360.0
    return _name_lab(lightness, chroma, hue)


HUE_MARGIN = 8.0
"""Degrees of hue a pixel's colour may move without changing name, for it to count as sure."""
LIGHTNESS_MARGIN = 4.0
CHROMA_MARGIN = 3.0


def confident_quantize(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Palette index of every pixel plus whether its name is sure: the same name results
    when hue moves by ±HUE_MARGIN degrees, lightness by ±LIGHTNESS_MARGIN and chroma by
    ±CHROMA_MARGIN (so a teal-blue wall is neither surely teal nor surely blue)."""
    lab = rgb_to_lab(pixels)
    lightness = lab[..., 0]
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    hue = np.degrees(np.arctan2(lab[..., 2], lab[..., 1])) % 360.0
    labels = _name_lab(lightness, chroma, hue)
    sure = np.ones(labels.shape, dtype=bool)
    for dl, dc, dh in ((LIGHTNESS_MARGIN, 0, 0), (-LIGHTNESS_MARGIN, 0, 0),
                       (0, CHROMA_MARGIN, 0), (0, -CHROMA_MARGIN, 0),
                       (0, 0, HUE_MARGIN), (0, 0, -HUE_MARGIN)):  # fmt: skip
        moved = _name_lab(lightness + dl, np.maximum(chroma + dc, 0), (hue + dh) % 360.0)
        sure &= moved == labels
    return labels, sure


def _name_lab(lightness: np.ndarray, chroma: np.ndarray, hue: np.ndarray) -> np.ndarray:
    """Palette index from Lab lightness, chroma and hue angle (see :func:`quantize`)."""
    index = {name: i for i, name in enumerate(COLOUR_NAMES)}
    out = np.full(lightness.shape, index["pink"], dtype=np.int16)
    reddish = lightness <= 55.0
    out[reddish] = index["red"]
    for low, high, name in HUE_BANDS:
        out[(hue >= low) & (hue < high)] = index[name]
    warm = (hue >= 15.0) & (hue < 110.0)
    dull = ((lightness < 50.0) & (chroma < 50.0)) | ((lightness < 75.0) & (chroma < 35.0))
    out[warm & dull] = index["brown"]
    out[(hue >= 312.0) & (hue < 335.0) & (lightness > 65.0)] = index["pink"]
    neutral = (chroma < 10.0) | (lightness < 12.0) | ((lightness > 92.0) & (chroma < 20.0))
    out[neutral] = index["gray"]
    out[neutral & (lightness < 22.0)] = index["black"]
    out[neutral & (lightness > 82.0)] = index["white"]
    return out


def name_of(rgb: tuple[float, float, float] | np.ndarray) -> str:
    """Palette name nearest to one RGB colour."""
    index = int(quantize(np.asarray(rgb, dtype=np.float32).reshape(1, 1, 3))[0, 0])
    return COLOUR_NAMES[index]
