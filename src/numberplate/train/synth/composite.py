"""Synthetic plates composited into real scenes: each labelled plate is painted over with a rendered one.

The detector's scenes come from a handful of countries; the plates it must find come from many. A
labelled box is a real plate on a real car, in the scene's light and perspective, so painting a
rendered plate of another design into it (a layout of similar shape, matched to the box's light and
sharpness) gives the detector foreign plates in true context, with a box label that stays exact.
Square plates (two-line, motorcycle) fit few labelled boxes, which are mostly wide:
:func:`swap_square_plates` paints them over a box grown about the plate to the square layout's shape,
and that grown box becomes the label. :data:`DARK_LAYOUTS` are the light-on-dark designs alone, which the
scenes have few of (classic UK, Malaysian, Singaporean plates).
"""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np

from numberplate.train.synth.layouts import LAYOUTS, Layout
from numberplate.train.synth.rand import uniform as _u
from numberplate.train.synth.rand import weighted_index
from numberplate.train.synth.render import render_plate

MIN_BOX_W = 12  # narrower boxes are left alone (nothing legible to paint at that size)
MIN_BOX_H = 5
ASPECT_RANGE = (0.75, 1.8)  # layout aspect / box aspect: plates seen at an angle look narrower, not wider
SQUARE_ASPECT = 2.0  # layouts at most this wide (width / height) are square: two-line and motorcycle plates


def square_layouts(layouts: tuple[Layout, ...]) -> tuple[Layout, ...]:
    """The square ones (two-line, motorcycle: at most ``SQUARE_ASPECT`` wide) of ``layouts``."""
    return tuple(la for la in layouts if la.size_mm[0] / la.size_mm[1] <= SQUARE_ASPECT)


SQUARE_LAYOUTS = square_layouts(LAYOUTS)
DARK_MARGIN = 60.0  # a scheme is dark when its text is this much lighter (luma, 0-255) than its plate


def luma(rgb: tuple[int, int, int]) -> float:
    """Rec. 601 luma of an RGB colour (0-255)."""
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def dark_layouts(layouts: tuple[Layout, ...] = LAYOUTS) -> tuple[Layout, ...]:
    """The designs that come with light characters on a dark plate (classic UK, Malaysian, Tunisian, Chinese
    blue, US and Brazilian variants), each kept to those colour schemes only and weighted alike: the rare
    designs are the ones the data lacks."""
    out = []
    for la in layouts:
        schemes = tuple(s for s in la.schemes if luma(s.text) - luma(s.background) >= DARK_MARGIN)
        if schemes:
            out.append(replace(la, schemes=schemes, weight=1.0))
    return tuple(out)


DARK_LAYOUTS = dark_layouts()
SQUARE_DARK_LAYOUTS = square_layouts(DARK_LAYOUTS)


def fitting_layouts(box_w: float, box_h: float, layouts: tuple[Layout, ...] = LAYOUTS) -> tuple[Layout, ...]:
    """Layouts whose width/height ratio could appear as a ``box_w`` x ``box_h`` box (see ``ASPECT_RANGE``)."""
    if box_w <= 0 or box_h <= 0:
        return ()
    aspect = box_w / box_h
    lo, hi = ASPECT_RANGE
    return tuple(la for la in layouts if lo <= (la.size_mm[0] / la.size_mm[1]) / aspect <= hi)


def _target_quad(rng: np.random.Generator, box: np.ndarray) -> np.ndarray:
    """The plate's corners inside the box: it fills the box, one side a little shorter (a plate seen at an angle)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    h = y1 - y0
    quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
    if rng.random() < 0.5:
        # Yaw: one vertical edge shorter, its two corners pulled towards the middle; the other edge spans the box.
        inset = _u(rng, 0.0, 0.12) * h
        side = (0, 3) if rng.random() < 0.5 else (1, 2)
        quad[side[0], 1] += inset
        quad[side[1], 1] -= inset
    return quad


def _match_light(rng: np.random.Generator, plate: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Scale the plate's brightness and contrast towards the pixels it replaces (float32 RGB in, out)."""
    reg = region.reshape(-1, 3).astype(np.float32)
    flat = plate.reshape(-1, 3)
    reg_luma, plate_luma = float(reg.mean()), max(float(flat.mean()), 1.0)
    gain = float(np.clip(reg_luma / plate_luma, 0.35, 1.3)) ** _u(rng, 0.5, 1.0)
    out = plate * gain
    # Contrast: real plates in dim or hazy scenes span a narrower range than a fresh render.
    reg_std, out_std = float(reg.std()), max(float(out.std()), 1.0)
    k = float(np.clip(reg_std / out_std, 0.4, 1.0)) ** _u(rng, 0.3, 1.0)
    mean = out.reshape(-1, 3).mean(0)
    out = (out - mean) * k + mean
    # A colour cast shared with the scene.
    tint = reg.mean(0) / max(reg_luma, 1.0)
    out *= (1.0 + (tint - 1.0) * _u(rng, 0.0, 0.6)).astype(np.float32)
    return out


def swap_plate(rng: np.random.Generator, image: np.ndarray, box: np.ndarray,
               layouts: tuple[Layout, ...] = LAYOUTS) -> bool:
    """Paint a rendered plate of a fitting layout over ``box`` of an RGB uint8 ``image``, in place.

    Returns:
        False when the box is too small, lies outside the image, or no layout fits its shape.

    Raises:
        FontsNotFoundError: when a font the layout needs is not installed.
    """
    hgt, wid = image.shape[:2]
    x0, y0, x1, y1 = np.clip(box, 0, [wid, hgt, wid, hgt])
    bw, bh = x1 - x0, y1 - y0
    if bw < MIN_BOX_W or bh < MIN_BOX_H:
        return False
    options = fitting_layouts(bw, bh, layouts)
    if not options:
        return False
    layout = options[weighted_index(rng, [la.weight for la in options])]
    # Render near the box's width (a little over, so the warp only shrinks) but with room for the glyphs.
    plate = render_plate(rng, layout, width=int(np.clip(bw * 1.3, 64, 480)))
    ph, pw = plate.image.shape[:2]
    ix0, iy0, ix1, iy1 = int(x0), int(y0), math.ceil(x1), math.ceil(y1)
    region = image[iy0:iy1, ix0:ix1]
    quad = _target_quad(rng, np.array([x0 - ix0, y0 - iy0, x1 - ix0, y1 - iy0]))
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    m = cv2.getPerspectiveTransform(src, quad)
    size = (region.shape[1], region.shape[0])
    colour = cv2.warpPerspective(plate.image, m, size, flags=cv2.INTER_AREA if bw < pw else cv2.INTER_LINEAR)
    alpha = cv2.warpPerspective(plate.alpha, m, size, flags=cv2.INTER_LINEAR).astype(np.float32) / 255.0
    colour_f = _match_light(rng, colour.astype(np.float32), region)
    if rng.random() < 0.6:
        # Scene plates are rarely as sharp as a render: soften to the box's own detail.
        sigma = _u(rng, 0.3, 1.0) * max(1.0, bh / 48)
        colour_f = cv2.GaussianBlur(colour_f, (0, 0), sigma)
    if rng.random() < 0.5:
        colour_f += rng.normal(0, _u(rng, 1, 6), colour_f.shape).astype(np.float32)
    a = alpha[..., None]
    region[:] = np.clip(colour_f * a + region.astype(np.float32) * (1 - a), 0, 255).astype(np.uint8)
    return True


def swap_plates(rng: np.random.Generator, image: np.ndarray, boxes: np.ndarray, probability: float = 1.0,
                layouts: tuple[Layout, ...] = LAYOUTS) -> tuple[np.ndarray, int]:
    """A copy of ``image`` with each box painted over by a rendered plate with ``probability``.

    Args:
        rng: Source of all randomness.
        image: HxWx3 uint8 RGB scene (not changed).
        boxes: Nx4 plate boxes (x0, y0, x1, y1) in the image's pixels; they stay the labels.
        probability: Chance that each box is painted over.
        layouts: Designs to draw from (weighted), filtered by each box's shape.

    Returns:
        The new image (``image`` itself when no box was painted) and the number of boxes painted.
    """
    picks = [b for b in np.asarray(boxes, np.float32).reshape(-1, 4) if rng.random() < probability]
    if not picks:
        return image, 0
    out = image.copy()
    return out, sum(swap_plate(rng, out, b, layouts) for b in picks)


def square_box(rng: np.random.Generator, box: np.ndarray, layout: Layout,
               image_shape: tuple[int, ...]) -> np.ndarray | None:
    """Where a plate of the square ``layout`` goes in place of the plate in ``box``.

    The smallest box of the layout's aspect about the plate's centre that covers it, grown by 0-15%
    and moved inside the image (it still covers the plate). None when it is larger than the image.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    aspect = layout.size_mm[0] / layout.size_mm[1]
    new_h = max(y1 - y0, (x1 - x0) / aspect) * _u(rng, 1.0, 1.15)
    new_w = new_h * aspect
    hgt, wid = image_shape[:2]
    if new_w > wid or new_h > hgt:
        return None
    nx0 = float(np.clip((x0 + x1 - new_w) / 2, 0, wid - new_w))
    ny0 = float(np.clip((y0 + y1 - new_h) / 2, 0, hgt - new_h))
    return np.array([nx0, ny0, nx0 + new_w, ny0 + new_h], np.float32)


def swap_square_plates(rng: np.random.Generator, image: np.ndarray, boxes: np.ndarray, probability: float = 1.0,
                       layouts: tuple[Layout, ...] = SQUARE_LAYOUTS) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``image`` with each box painted over, with ``probability``, by a square plate (two-line,
    motorcycle) over the box grown to its shape (:func:`square_box`).

    Args:
        rng: Source of all randomness.
        image: HxWx3 uint8 RGB scene (not changed).
        boxes: Nx4 plate boxes (x0, y0, x1, y1) in the image's pixels.
        probability: Chance that each box is painted over.
        layouts: Square designs to draw from (weighted).

    Returns:
        The new image (``image`` itself when no box was painted) and the plate boxes in it: a painted
        box's grown box in its place, the others as they were.
    """
    out, new_boxes = image, np.asarray(boxes, np.float32).reshape(-1, 4).copy()
    for i in range(len(new_boxes)):
        if rng.random() >= probability:
            continue
        layout = layouts[weighted_index(rng, [la.weight for la in layouts])]
        grown = square_box(rng, new_boxes[i], layout, image.shape)
        if grown is None:
            continue
        if out is image:
            out = image.copy()
        if swap_plate(rng, out, grown, (layout,)):
            new_boxes[i] = grown
    return out, new_boxes


def paint_plates(rng: np.random.Generator, image: np.ndarray, boxes: np.ndarray, probability: float = 1.0,
                 square: bool = False, dark: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The scene's plates painted over, as every consumer of labelled scenes wants them: the image and the
    plate boxes in it. :func:`swap_plates` (boxes unchanged), or with ``square`` :func:`swap_square_plates`
    (painted boxes grown to the square plate's shape); with ``dark`` only light-on-dark designs
    (:data:`DARK_LAYOUTS`); ``probability`` per box."""
    if square:
        return swap_square_plates(rng, image, boxes, probability, SQUARE_DARK_LAYOUTS if dark else SQUARE_LAYOUTS)
    return (swap_plates(rng, image, boxes, probability, DARK_LAYOUTS if dark else LAYOUTS)[0],
            np.asarray(boxes, np.float32).reshape(-1, 4))
