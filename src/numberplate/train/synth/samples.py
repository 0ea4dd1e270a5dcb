"""Labelled grids of synthetic crops and plates, to look at what the renderer makes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from numberplate.train.synth.fonts import fonts
from numberplate.train.synth.layouts import Layout
from numberplate.train.synth.render import render_crop, render_plate


def _grid(tiles: list[np.ndarray], captions: list[str], cols: int, scale: int) -> Image.Image:
    th, tw = tiles[0].shape[:2]
    tw, th = tw * scale, th * scale
    strip = 18
    rows = (len(tiles) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * (tw + 4), rows * (th + strip + 4)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.truetype(fonts("cjk")[0], 14)
    for k, (tile, text) in enumerate(zip(tiles, captions)):
        x, y = (k % cols) * (tw + 4), (k // cols) * (th + strip + 4)
        sheet.paste(Image.fromarray(tile).resize((tw, th), Image.Resampling.NEAREST), (x, y))
        draw.text((x + 2, y + th + 1), text, font=font, fill=(0, 0, 0))
    return sheet


def write_samples(out_dir: Path, n: int = 48, seed: int = 0, out_size: tuple[int, int] = (160, 48),
                  layout: Layout | str | None = None, cols: int = 6, scale: int = 2) -> Path:
    """Render ``n`` crops and write them as one labelled grid, plus a grid of the same plates clean.

    Args:
        out_dir: Folder to write ``synth_grid.png`` and ``synth_plates.png`` into (created if needed).
        n: Number of samples.
        seed: Seed of the random generator.
        out_size: (width, height) of each crop.
        layout: Restrict to one layout (object or name); None draws layouts by weight.
        cols: Tiles per grid row.
        scale: Nearest-neighbour enlargement of each tile, to see pixels.

    Returns:
        Path of the crop grid.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    crops, labels = [], []
    for _ in range(n):
        crop, text, country = render_crop(rng, out_size, layout)
        crops.append(crop)
        labels.append(f"{country} {text}")
    path = out_dir / "synth_grid.png"
    _grid(crops, labels, cols, scale).save(path)

    rng = np.random.default_rng(seed)
    plates, names = [], []
    for _ in range(n):
        plate = render_plate(rng, layout)
        canvas = np.full((128, 320, 3), 255, np.uint8)
        ph, pw = plate.image.shape[:2]
        canvas[:ph, :pw] = plate.image
        plates.append(canvas)
        names.append(f"{plate.layout} {'/'.join(plate.lines)}")
    _grid(plates, names, max(1, cols // 2), 1).save(out_dir / "synth_plates.png")
    return path
