"""Font files for synthetic plates: found in Debian's font folders, rendered once into cached glyph masks."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from numberplate.errors import NumberplateError

# Searched recursively, in this order; tests point it elsewhere to simulate a bare machine.
FONT_DIRS: tuple[Path, ...] = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))

# Each group maps a font file name to the Debian package that ships it (see FONTS.txt beside this file).
FONT_GROUPS: dict[str, dict[str, str]] = {
    # Condensed / DIN-like sans faces for the registration characters.
    "plate": {
        "OSP-DIN.ttf": "fonts-opendin",
        "RobotoCondensed-Bold.ttf": "fonts-roboto-unhinted",
        "RobotoCondensed-Medium.ttf": "fonts-roboto-unhinted",
        "RobotoCondensed-Regular.ttf": "fonts-roboto-unhinted",
        "LiberationSansNarrow-Bold.ttf": "fonts-liberation",
        "LiberationSansNarrow-Regular.ttf": "fonts-liberation",
        "DejaVuSansCondensed-Bold.ttf": "fonts-dejavu-core",
        "DejaVuSansCondensed.ttf": "fonts-dejavu-core",
        "BebasNeue-Bold.otf": "fonts-bebas-neue",
        "BebasNeue-Regular.otf": "fonts-bebas-neue",
        "Arimo-Bold.ttf": "fonts-croscore",
        "FreeSansBold.ttf": "fonts-freefont-ttf",
        "NotoSansDisplay-Bold.ttf": "fonts-noto-core",
        "NotoSans-Bold.ttf": "fonts-noto-core",
        "B612-Bold.otf": "fonts-b612",
    },
    # Monospaced faces (fixed-pitch plates, older stamped plates).
    "mono": {
        "DejaVuSansMono-Bold.ttf": "fonts-dejavu-core",
        "Cousine-Bold.ttf": "fonts-croscore",
        "LiberationMono-Bold.ttf": "fonts-liberation",
        "B612Mono-Bold.otf": "fonts-b612",
        "FreeMonoBold.ttf": "fonts-freefont-ttf",
    },
    # Small printed words: state names, slogans, city lines, country codes.
    "sans": {
        "Arimo-Regular.ttf": "fonts-croscore",
        "Arimo-Bold.ttf": "fonts-croscore",
        "DejaVuSans-Bold.ttf": "fonts-dejavu-core",
        "DejaVuSansCondensed-Bold.ttf": "fonts-dejavu-core",
        "LiberationSans-Bold.ttf": "fonts-liberation",
        "RobotoCondensed-Bold.ttf": "fonts-roboto-unhinted",
        "NotoSans-Regular.ttf": "fonts-noto-core",
        "FreeSansBoldOblique.ttf": "fonts-freefont-ttf",
    },
    "serif": {
        "Tinos-Bold.ttf": "fonts-croscore",
        "Tinos-BoldItalic.ttf": "fonts-croscore",
        "DejaVuSerif-Bold.ttf": "fonts-dejavu-core",
        "LiberationSerif-BoldItalic.ttf": "fonts-liberation",
        "FreeSerifBoldItalic.ttf": "fonts-freefont-ttf",
        "NotoSerifDisplay-BoldItalic.ttf": "fonts-noto-core",
    },
    # Chinese province characters.
    "cjk": {"wqy-microhei.ttc": "fonts-wqy-microhei"},
    # Arabic (the Tunisian word); these faces carry the presentation forms drawn without a shaping engine.
    "arabic": {
        "NotoNaskhArabic-Bold.ttf": "fonts-noto-core",
        "NotoSansArabic-Bold.ttf": "fonts-noto-core",
        "Amiri-Bold.ttf": "fonts-hosny-amiri",
        "KacstOne-Bold.ttf": "fonts-kacst-one",
    },
}

RENDER_SIZE = 96  # point size glyphs are rasterised at before being scaled onto a plate


class FontsNotFoundError(NumberplateError):
    """None of the font files a synthetic-plate font group needs is installed."""


def font_packages() -> list[str]:
    """The Debian packages that provide every font the renderer can use, sorted."""
    return sorted({pkg for group in FONT_GROUPS.values() for pkg in group.values()})


@lru_cache(maxsize=8)
def _index(dirs: tuple[Path, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for root in dirs:
        if not root.is_dir():
            continue
        for dirpath, _, files in sorted(os.walk(root)):
            for name in sorted(files):
                found.setdefault(name, os.path.join(dirpath, name))
    return found


def fonts(group: str) -> tuple[str, ...]:
    """Paths of the installed fonts of one group, in the group's fixed order.

    Args:
        group: A key of ``FONT_GROUPS`` ("plate", "mono", "sans", "serif", "cjk", "arabic").

    Returns:
        At least one font file path.

    Raises:
        FontsNotFoundError: when no font of the group is installed; the message names the packages.
    """
    wanted = FONT_GROUPS[group]
    index = _index(tuple(FONT_DIRS))
    paths = tuple(index[name] for name in wanted if name in index)
    if not paths:
        packages = " ".join(sorted(set(wanted.values())))
        dirs = ", ".join(str(d) for d in FONT_DIRS)
        raise FontsNotFoundError(
            f"no '{group}' font for synthetic plates under {dirs}: install the Debian packages with "
            f"`apt-get install {packages}` (all of them: `apt-get install {' '.join(font_packages())}`, "
            "listed in src/numberplate/train/synth/FONTS.txt)")
    return paths


def check_fonts() -> None:
    """Raise ``FontsNotFoundError`` unless every font group has at least one installed font."""
    for group in FONT_GROUPS:
        fonts(group)


@lru_cache(maxsize=128)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    # BASIC layout: no shaping engine needed, so output is identical with or without libraqm.
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)


@lru_cache(maxsize=8192)
def text_mask(path: str, text: str, stroke: int = 0, size: int = RENDER_SIZE) -> np.ndarray:
    """The ink of ``text`` in one font as a tight uint8 alpha mask (cached; treat it as read-only).

    Args:
        path: Font file.
        text: Characters to draw (Arabic must already be in presentation forms, in visual order).
        stroke: Extra outline width in pixels at the render size, to make a face bolder.
        size: Point size to rasterise at.

    Returns:
        A 2-D uint8 array cropped to the drawn pixels (1x1 zero array when nothing is drawn).
    """
    font = _font(path, size)
    x0, y0, x1, y1 = font.getbbox(text, stroke_width=stroke)
    pad = 4 + stroke
    image = Image.new("L", (max(1, int(x1 - x0) + 2 * pad), max(1, int(y1 - y0) + 2 * pad)), 0)
    ImageDraw.Draw(image).text((pad - x0, pad - y0), text, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
    mask = np.asarray(image)
    rows = np.flatnonzero(mask.max(axis=1) > 24)
    cols = np.flatnonzero(mask.max(axis=0) > 24)
    if rows.size == 0 or cols.size == 0:
        return np.zeros((1, 1), np.uint8)
    out = np.ascontiguousarray(mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    out.setflags(write=False)
    return out
