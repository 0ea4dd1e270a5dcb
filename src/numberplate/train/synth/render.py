"""Draw synthetic number plates from layouts, and turn them into detector-like crops for OCR training."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from numberplate.train.synth import effects
from numberplate.train.synth.fonts import fonts, text_mask
from numberplate.train.synth.layouts import (
    CN_PROVINCES,
    EMIRATE_MARKS,
    RGB,
    Band,
    Caption,
    Item,
    Layout,
    LineSpec,
    PlateText,
    Scheme,
    generate_text,
    get_layout,
    pick_layout,
)
from numberplate.train.synth.rand import pick as _pick
from numberplate.train.synth.rand import randint as _i
from numberplate.train.synth.rand import uniform as _u
from numberplate.train.synth.rand import weighted_index

MAX_PLATE_W = 320  # render_plate's default size: the plate fits in this many pixels wide ...
MAX_PLATE_H = 128  # ... and this many high
CAPTION_SIZE = 40  # point size small texts are rasterised at (they end up a few pixels high)
OVERSAMPLE = 1.4  # crops: plates are drawn this much larger than they appear, then warped down
PRINT_INKS: tuple[RGB, ...] = ((20, 40, 120), (160, 20, 30), (20, 20, 22), (20, 90, 40), (90, 30, 110))


@dataclass(frozen=True)
class SynthPlate:
    """A rendered plate, cut tight to its outline.

    Attributes:
        image: HxWx3 uint8 RGB.
        alpha: HxW uint8 coverage: 255 on the plate, 0 outside its rounded corners.
        text: Label in reading order (A-Z, 0-9 and, for China, a province character).
        country: Country code of the layout.
        layout: Layout name.
        lines: Label of each line, top to bottom.
    """

    image: np.ndarray
    alpha: np.ndarray
    text: str
    country: str
    layout: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class _Mark:
    """An emirate's name measured for a line: the Arabic over the Latin, each centred in the item's width."""

    arabic: np.ndarray
    latin: np.ndarray
    arabic_h: float
    latin_h: float
    line_h: float
    width: float

    def draw(self, painter: _Painter, x: float, top: float, adv: float) -> None:
        """Ink both names into ``adv`` pixels from ``x``, the Arabic at the top of the line, the Latin below."""
        latin_top = top + self.line_h - self.latin_h
        for m, y, h in ((self.arabic, top, self.arabic_h), (self.latin, latin_top, self.latin_h)):
            w = min(m.shape[1] / m.shape[0] * h, adv)
            painter._ink(m, x + (adv - w) / 2, y, w, h)


def _colour(rng: np.random.Generator, rgb: RGB, spread: float = 0.06) -> np.ndarray:
    """A plate colour with a little per-plate variation (paint batch, age, white balance)."""
    k = _u(rng, 1.0 - spread, 1.0 + spread / 2)
    return np.array([min(255.0, max(0.0, c * k + _u(rng, -6, 6))) for c in rgb], np.float32)


def _tup(c: np.ndarray) -> tuple[float, float, float]:
    return (float(c[0]), float(c[1]), float(c[2]))


def _blend(canvas: np.ndarray, mask: np.ndarray, x: int, y: int, colour: np.ndarray, opacity: float = 1.0) -> None:
    """Paint ``colour`` through a uint8 coverage mask whose top-left corner is at (x, y), clipped to the canvas."""
    h, w = mask.shape
    ch, cw = canvas.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, cw), min(y + h, ch)
    if x0 >= x1 or y0 >= y1:
        return
    a = mask[y0 - y:y1 - y, x0 - x:x1 - x].astype(np.float32) * np.float32(opacity / 255.0)
    effects.lerp(canvas[y0:y1, x0:x1], effects.scalar(colour), a)


def _scaled(mask: np.ndarray, w: int, h: int) -> np.ndarray:
    w, h = max(1, w), max(1, h)
    shrink = w * 2 < mask.shape[1] or h * 2 < mask.shape[0]
    return cv2.resize(mask, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _rounded_rect(w: int, h: int, radius: int) -> np.ndarray:
    """Filled rounded-rectangle coverage mask (uint8) of a w x h plate."""
    m = np.zeros((h, w), np.uint8)
    r = max(0, min(radius, (w - 1) // 2, (h - 1) // 2))
    cv2.rectangle(m, (r, 0), (w - 1 - r, h - 1), 255, -1)
    cv2.rectangle(m, (0, r), (w - 1, h - 1 - r), 255, -1)
    if r:
        for cx, cy in ((r, r), (w - 1 - r, r), (r, h - 1 - r), (w - 1 - r, h - 1 - r)):
            cv2.circle(m, (cx, cy), r, 255, -1, cv2.LINE_AA)
    return m


def _rounded_outline(img: np.ndarray, box: tuple[int, int, int, int], radius: int,
                     colour: tuple[float, float, float], thickness: int) -> None:
    """Draw a rounded rectangle outline straight onto the image."""
    x0, y0, x1, y1 = box
    r = max(0, min(radius, (x1 - x0) // 2, (y1 - y0) // 2))
    for p, q in (((x0 + r, y0), (x1 - r, y0)), ((x0 + r, y1), (x1 - r, y1)),
                 ((x0, y0 + r), (x0, y1 - r)), ((x1, y0 + r), (x1, y1 - r))):
        cv2.line(img, p, q, colour, thickness, cv2.LINE_AA)
    if r:
        for (cx, cy), start in (((x0 + r, y0 + r), 180), ((x1 - r, y0 + r), 270), ((x1 - r, y1 - r), 0),
                                ((x0 + r, y1 - r), 90)):
            cv2.ellipse(img, (cx, cy), (r, r), 0, start, start + 90, colour, thickness, cv2.LINE_AA)


class _Painter:
    """Draws one plate: holds the canvas, the chosen font, the colours and the emboss settings."""

    def __init__(self, rng: np.random.Generator, layout: Layout, scheme: Scheme, width: int):
        self.rng = rng
        self.layout = layout
        self.scheme = scheme
        self.w = width
        self.h = max(8, round(width * layout.size_mm[1] / layout.size_mm[0]))
        self.bg = _colour(rng, scheme.background)
        self.ink = _colour(rng, scheme.text, 0.08)
        self.font = _pick(rng, fonts(_pick(rng, layout.fonts)))
        self.stroke = _i(rng, *layout.stroke)
        self.emboss = rng.random() < layout.emboss
        self.bare_one = layout.bare_one > 0.0 and rng.random() < layout.bare_one
        angle = _u(rng, 0, 2 * math.pi)
        self.light = (math.cos(angle), math.sin(angle))
        self.canvas = np.empty((self.h, self.w, 3), np.float32)
        # Coverage of the registration characters, composited at the end (one blend, one emboss).
        self.ink_layer = np.zeros((self.h, self.w), np.uint8)

    # -- background and decorations -------------------------------------------------------------------

    def fill_background(self) -> None:
        bottom = _colour(self.rng, self.scheme.gradient) if self.scheme.gradient is not None else self.bg
        # Corner colours interpolated over the plate: the vertical gradient times a gentle sheen ramp.
        left, right = 1.0 - _u(self.rng, 0, 0.08), 1.0 + _u(self.rng, 0, 0.05)
        corners = np.stack([np.stack([self.bg * left, self.bg * right]), np.stack([bottom * left, bottom * right])])
        self.canvas[:] = cv2.resize(corners, (self.w, self.h), interpolation=cv2.INTER_LINEAR)

    def art(self) -> None:
        rng, w, h, c = self.rng, self.w, self.h, self.canvas
        for kind in [a for a in self.layout.art if rng.random() < 0.3]:
            target = np.array([_u(rng, 0, 255), _u(rng, 0, 255), _u(rng, 0, 255)], np.float32)
            col = _tup(self.bg + (target - self.bg) * _u(rng, 0.15, 0.45))
            if kind == "sun":
                cv2.circle(c, (_i(rng, 0, w), int(_u(rng, 0.3, 0.7) * h)), int(_u(rng, 0.2, 0.45) * h), col, -1,
                           cv2.LINE_AA)
            elif kind == "mountains":
                n = _i(rng, 4, 9)
                xs = np.linspace(-0.05 * w, 1.05 * w, n)
                ys = np.array([_u(rng, 0.5, 0.85) * h for _ in range(n)])
                pts = np.concatenate([np.stack([xs, ys], 1), [[1.05 * w, h], [-0.05 * w, h]]]).astype(np.int32)
                cv2.fillPoly(c, [pts], col, cv2.LINE_AA)
            elif kind == "waves":
                xs = np.arange(0, w + 4, 4, dtype=np.float32)
                for _ in range(_i(rng, 1, 4)):
                    y0, amp, period = _u(rng, 0.2, 0.9) * h, _u(rng, 0.02, 0.1) * h, _u(rng, 0.3, 1.2) * w
                    ys = y0 + amp * np.sin(xs / period * 2 * math.pi + _u(rng, 0, 6))
                    cv2.polylines(c, [np.stack([xs, ys], 1).astype(np.int32)], False, col,
                                  max(1, int(_u(rng, 0.02, 0.1) * h)), cv2.LINE_AA)
            elif kind == "stripes":
                for y in (_u(rng, 0.22, 0.28), _u(rng, 0.76, 0.8)):
                    cv2.line(c, (0, int(y * h)), (w, int(y * h)), col, max(1, int(0.025 * h)))
            elif kind == "blotches":
                cv2.scaleAdd(effects.low_freq(rng, w, h, 3, cells=_i(rng, 3, 7)), _u(rng, 10, 30), c, dst=c)

    def band(self, band: Band) -> tuple[float, float]:
        """Draw a band; returns the horizontal span (fractions of the width) it takes."""
        rng, w, h = self.rng, self.w, self.h
        bw = max(1, round(band.width * w))
        x0 = 0 if band.side == "left" else w - bw
        if band.colour is not None:
            self.canvas[:, x0:x0 + bw] = _colour(rng, band.colour)
        if band.stars:
            cx, cy, r = x0 + bw / 2, 0.33 * h, 0.15 * h
            star = _tup(_colour(rng, (255, 204, 0)))
            for k in range(12):
                a = 2 * math.pi * k / 12
                cv2.circle(self.canvas, (round(cx + r * math.cos(a)), round(cy + r * math.sin(a))),
                           max(1, round(0.025 * h)), star, -1, cv2.LINE_AA)
        if band.codes:
            mask = text_mask(_pick(rng, fonts("sans")), _pick(rng, band.codes), 0, CAPTION_SIZE)
            th = (0.26 if band.stars else 0.3) * h
            tw = min(mask.shape[1] / mask.shape[0] * th, 0.8 * bw)
            ty = (0.74 if band.stars else 0.5) * h
            self._paint(mask, x0 + bw / 2 - tw / 2, ty - th / 2, tw, th, _colour(rng, band.code_colour))
        if "chakra" in self.layout.extras and band.colour is None and band.side == "left":
            cv2.circle(self.canvas, (round(x0 + bw / 2), round(0.28 * h)), max(2, round(0.11 * h)),
                       (40.0, 70.0, 170.0), max(1, round(0.025 * h)), cv2.LINE_AA)
        return (x0 / w, (x0 + bw) / w)

    def caption(self, cap: Caption) -> None:
        rng, w, h = self.rng, self.w, self.h
        if cap.bar is not None:
            y0, y1 = round((cap.y - cap.bar_height / 2) * h), round((cap.y + cap.bar_height / 2) * h)
            self.canvas[max(0, y0):max(0, y1)] = _colour(rng, cap.bar)
        text = _pick(rng, cap.texts)
        if cap.colour is not None:
            colour = _colour(rng, cap.colour)
        elif self.scheme.caption is not None:
            colour = _colour(rng, self.scheme.caption)
        elif self.layout.art and rng.random() < 0.6:
            colour = _colour(rng, _pick(rng, PRINT_INKS))
        else:
            colour = self.ink
        mask = text_mask(_pick(rng, fonts(cap.font)), text, 0, CAPTION_SIZE)
        th = cap.height * h * _u(rng, 0.85, 1.1)
        tw = min(mask.shape[1] / mask.shape[0] * th * _u(rng, 0.8, 1.05), (cap.x1 - cap.x0) * w)
        cx = (cap.x0 + cap.x1) / 2 * w + _u(rng, -0.03, 0.03) * w
        self._paint(mask, cx - tw / 2, cap.y * h - th / 2, tw, th, colour)

    def mercosul(self) -> None:
        """Brazilian flag at the right of the blue bar, Mercosur emblem at its left, QR code under it."""
        rng, w, h, c = self.rng, self.w, self.h, self.canvas
        fh = 0.11 * h
        fx, fy = 0.86 * w, 0.1 * h - fh / 2
        cv2.rectangle(c, (round(fx), round(fy)), (round(fx + 1.45 * fh), round(fy + fh)), (0.0, 150.0, 60.0), -1)
        diamond = np.array([[fx + 0.72 * fh, fy + 0.1 * fh], [fx + 1.35 * fh, fy + fh / 2],
                            [fx + 0.72 * fh, fy + 0.9 * fh], [fx + 0.1 * fh, fy + fh / 2]], np.int32)
        cv2.fillConvexPoly(c, diamond, (250.0, 210.0, 0.0), cv2.LINE_AA)
        cv2.circle(c, (round(fx + 0.72 * fh), round(fy + fh / 2)), max(1, round(0.22 * fh)), (20.0, 40.0, 140.0), -1)
        cv2.circle(c, (round(0.08 * w), round(0.1 * h)), max(2, round(0.07 * h)), (240.0, 240.0, 240.0),
                   max(1, round(0.015 * h)), cv2.LINE_AA)
        n = 7
        cell = max(1, round(0.15 * h / n))
        bits = (rng.random((n, n)) < 0.5).astype(np.uint8) * 255
        qr = cv2.resize(bits, (n * cell, n * cell), interpolation=cv2.INTER_NEAREST)
        _blend(c, qr, round(0.012 * w), round(0.3 * h), np.array([20, 20, 20], np.float32), 0.9)

    def flag(self, stripes: tuple[RGB, ...], x: float, y: float, fw: float) -> None:
        """A flag of horizontal ``stripes``, top left at (``x``, ``y``) and ``fw`` wide (fractions of the plate)."""
        w, h = self.w, self.h
        x0, x1 = round(x * w), round((x + fw) * w)
        stripe = fw * w * 0.66 / len(stripes)
        for k, colour in enumerate(stripes):
            y0 = round(y * h + k * stripe)
            self.canvas[y0:max(y0 + 1, round(y * h + (k + 1) * stripe)), x0:x1] = _colour(self.rng, colour)

    def ru_region(self) -> None:
        """Russia: the rule between the registration and the region field, and the flag beside "RUS"."""
        rng, w, h = self.rng, self.w, self.h
        x, t = round(_u(rng, 0.752, 0.762) * w), max(1, round(_u(rng, 0.015, 0.03) * h))
        inset = round(0.06 * h)
        cv2.rectangle(self.canvas, (x, inset), (x + t - 1, h - 1 - inset), _tup(self.ink), -1)
        if rng.random() < 0.85:
            self.flag(((255, 255, 255), (0, 57, 166), (213, 43, 30)), 0.905, 0.74, 0.06)

    def ua_flag(self) -> None:
        """Ukraine: the blue and yellow flag at the top of the left band."""
        if self.rng.random() < 0.85:
            self.flag(((0, 87, 183), (255, 215, 0)), 0.02, 0.12, 0.045)

    def stickers(self) -> None:
        """Registration stickers in the corners (US)."""
        rng, w, h = self.rng, self.w, self.h
        for _ in range(_i(rng, 0, 3)):
            sw, sh = max(2, round(_u(rng, 0.1, 0.16) * w)), max(2, round(_u(rng, 0.1, 0.15) * h))
            x = round(_u(rng, 0.02, 0.08) * w) if rng.random() < 0.5 else round(w - sw - _u(rng, 0.02, 0.08) * w)
            y = round(_u(rng, 0.03, 0.12) * h) if rng.random() < 0.7 else round(h - sh - _u(rng, 0.03, 0.1) * h)
            col = np.array([_u(rng, 30, 255), _u(rng, 30, 255), _u(rng, 30, 255)], np.float32)
            self.canvas[y:y + sh, x:x + sw] = col
            mask = text_mask(_pick(rng, fonts("sans")), f"{_i(rng, 0, 100):02d}", 0, CAPTION_SIZE)
            self._paint(mask, x + 0.15 * sw, y + 0.15 * sh, 0.7 * sw, 0.7 * sh,
                        np.array([20, 20, 20] if col.mean() > 120 else [240, 240, 240], np.float32))

    def border(self) -> None:
        if self.scheme.border is None or self.layout.border_width <= 0 or self.rng.random() < 0.15:
            return
        h = self.h
        t = max(1, round(self.layout.border_width * h * _u(self.rng, 0.7, 1.3)))
        inset = round(_u(self.rng, 0.005, 0.04) * h) + t // 2
        box = (inset, inset, self.w - 1 - inset, h - 1 - inset)
        _rounded_outline(self.canvas, box, round(self.layout.radius * h * 0.8), _tup(_colour(self.rng,
                                                                                              self.scheme.border)), t)

    def bolts(self) -> None:
        if not self.layout.bolts or self.rng.random() < 0.35:
            return
        r = max(2, round(0.035 * self.h))
        metal = _u(self.rng, 110, 210)
        for bx, by in self.layout.bolts:
            centre = (round(bx * self.w), round(by * self.h))
            cv2.circle(self.canvas, centre, r, (metal, metal, metal * 0.95), -1, cv2.LINE_AA)
            cv2.circle(self.canvas, centre, max(1, r // 2), (metal * 0.5,) * 3, -1, cv2.LINE_AA)

    # -- characters -----------------------------------------------------------------------------------

    def _paint(self, mask: np.ndarray, x: float, y: float, w: float, h: float, colour: np.ndarray) -> None:
        _blend(self.canvas, _scaled(mask, round(w), round(h)), round(x), round(y), colour)

    def _ink(self, mask: np.ndarray, x: float, y: float, w: float, h: float) -> None:
        """Add a registration character to the ink layer."""
        m = _scaled(mask, round(w), round(h))
        xi, yi = round(x), round(y)
        mh, mw = m.shape
        x0, y0, x1, y1 = max(xi, 0), max(yi, 0), min(xi + mw, self.w), min(yi + mh, self.h)
        if x0 < x1 and y0 < y1:
            region = self.ink_layer[y0:y1, x0:x1]
            np.maximum(region, m[y0 - yi:y1 - yi, x0 - xi:x1 - xi], out=region)

    def finish_ink(self) -> None:
        """Composite the ink layer: shadow and highlight when the characters are raised, then the ink."""
        rows = np.flatnonzero(self.ink_layer.max(axis=1))
        if rows.size == 0:
            return
        d = max(1, round(0.012 * self.h)) if self.emboss else 0
        y0, y1 = max(0, int(rows[0]) - d), min(self.h, int(rows[-1]) + 1 + d)
        layer = self.ink_layer[y0:y1].astype(np.float32) * np.float32(1.0 / 255.0)
        canvas = self.canvas[y0:y1]
        if d:
            dx, dy = round(self.light[0] * d), round(self.light[1] * d)
            shadow, highlight = self.bg * 0.45, np.minimum(self.bg * 1.3 + 40, 255)
            for sx, sy, colour, opacity in ((dx, dy, shadow, 0.55), (-dx, -dy, highlight, 0.35)):
                shift = np.array([[1, 0, sx], [0, 1, sy]], np.float32)
                shifted = cv2.warpAffine(layer, shift, (layer.shape[1], layer.shape[0]))
                effects.lerp(canvas, effects.scalar(colour), shifted * np.float32(opacity))
        effects.lerp(canvas, effects.scalar(self.ink), layer)

    def _glyph(self, ch: str, stroke: int) -> np.ndarray:
        if ch in CN_PROVINCES:
            return text_mask(fonts("cjk")[0], ch, min(stroke, 2))
        return text_mask(self.font, "I" if ch == "1" and self.bare_one else ch, stroke)

    def _mark(self, name: str, arabic_font: str, arabic_stroke: int, ch_h: float) -> _Mark:
        """Measure an emirate's name for a line of characters ``ch_h`` pixels high."""
        arabic = text_mask(arabic_font, EMIRATE_MARKS[name], arabic_stroke)
        latin = text_mask(_pick(self.rng, fonts("sans")), name, _i(self.rng, 0, 3), CAPTION_SIZE)
        arabic_h, latin_h = ch_h * _u(self.rng, 0.4, 0.55), ch_h * 0.3
        width = max(arabic.shape[1] / arabic.shape[0] * arabic_h, latin.shape[1] / latin.shape[0] * latin_h)
        return _Mark(arabic, latin, arabic_h, latin_h, ch_h, width * _u(self.rng, 1.0, 1.2))

    def line(self, items: tuple[Item, ...], spec: LineSpec, x_span: tuple[float, float]) -> None:
        """Lay out one line of the registration: measure every item, fit the line, then draw."""
        rng, w, h = self.rng, self.w, self.h
        ch_h = spec.height * h * _u(rng, 0.94, 1.04)
        cond = _u(rng, *spec.condense)
        gap = _u(rng, *spec.spacing) * ch_h
        stroke = self.stroke
        arabic = _pick(rng, fonts("arabic"))
        arabic_stroke = _i(rng, 0, 3)
        word_h = ch_h * _u(rng, 0.5, 0.7)

        advances: list[float] = []
        marks: dict[int, _Mark] = {}
        for item in items:
            if item.kind == "char":
                m = self._glyph(item.text, stroke)
                natural = m.shape[1] / m.shape[0] * ch_h * (1.0 if item.text in CN_PROVINCES else cond)
                advances.append(spec.pitch * ch_h if spec.pitch else natural)
            elif item.kind == "stack":
                sub = [self._glyph(c, stroke) for c in item.text]
                advances.append(max(m.shape[1] / m.shape[0] for m in sub) * 0.46 * ch_h * cond)
            elif item.kind == "word":
                m = text_mask(arabic, item.text, arabic_stroke)
                advances.append(m.shape[1] / m.shape[0] * word_h * _u(rng, 0.9, 1.3))
            elif item.kind == "mark":
                marks[len(advances)] = self._mark(item.text, arabic, arabic_stroke, ch_h)
                advances.append(marks[len(advances)].width)
            else:
                factor = {"gap": _u(rng, 0.2, 0.5), "dash": _u(rng, *self.layout.dash), "dot": 0.2, "seal": 0.48,
                          "logo": 0.7}[item.kind]
                advances.append(factor * ch_h)
        x0, x1 = max(spec.x0, x_span[0]), min(spec.x1, x_span[1])
        avail = (x1 - x0) * w
        total = sum(advances) + gap * (len(items) - 1)
        squeeze = min(1.0, avail / total) if total > 0 else 1.0
        x = x0 * w + (avail - total * squeeze) / 2 * (1.0 + _u(rng, -0.3, 0.3))
        top = spec.y * h - ch_h / 2
        wobble = 0.02 * ch_h if rng.random() < 0.3 else 0.0

        for k, (item, adv) in enumerate(zip(items, advances)):
            adv *= squeeze
            dy = _u(rng, -wobble, wobble) if wobble else 0.0
            if item.kind == "char":
                m = self._glyph(item.text, stroke)
                if spec.pitch:
                    gw = min(m.shape[1] / m.shape[0] * ch_h * cond, adv)
                    self._ink(m, x + (adv - gw) / 2, top + dy, gw, ch_h)
                else:
                    self._ink(m, x, top + dy, adv, ch_h)
            elif item.kind == "stack":
                sh = 0.46 * ch_h
                for k, c in enumerate(item.text[:2]):
                    self._ink(self._glyph(c, stroke), x, top + k * (ch_h - sh), adv, sh)
            elif item.kind == "word":
                m = text_mask(arabic, item.text, arabic_stroke)
                self._ink(m, x, top + (ch_h - word_h) / 2 + _u(rng, -0.05, 0.1) * ch_h, adv, word_h)
            elif item.kind == "mark":
                marks[k].draw(self, x, top, adv)
            elif item.kind == "dash":
                t = max(1.0, _u(rng, 0.07, 0.13) * ch_h)
                cy = top + ch_h * _u(rng, 0.46, 0.54)
                cv2.rectangle(self.ink_layer, (round(x), round(cy - t / 2)), (round(x + adv), round(cy + t / 2)),
                              255, -1)
            elif item.kind == "dot":
                cv2.circle(self.ink_layer, (round(x + adv / 2), round(top + ch_h / 2)), max(1, round(0.06 * ch_h)),
                           255, -1, cv2.LINE_AA)
            elif item.kind == "seal":  # German plates: inspection sticker over the state seal
                r = adv / 2
                for k, cy in enumerate((top + 0.3 * ch_h, top + 0.72 * ch_h)):
                    col = (_u(rng, 40, 230), _u(rng, 40, 230), _u(rng, 40, 230)) if k == 0 else (_u(rng, 120, 200),) * 3
                    cv2.circle(self.canvas, (round(x + r), round(cy)), max(1, round(r * 0.9)), col, -1, cv2.LINE_AA)
            elif item.kind == "logo":  # a state emblem between character groups
                col = (_u(rng, 20, 230), _u(rng, 20, 230), _u(rng, 20, 230))
                cx, cy, r = x + adv / 2, top + ch_h / 2, adv * 0.45
                if rng.random() < 0.5:
                    cv2.circle(self.canvas, (round(cx), round(cy)), max(1, round(r)), col, -1, cv2.LINE_AA)
                else:
                    angles = np.linspace(0, 2 * math.pi, _i(rng, 3, 7), endpoint=False) + _u(rng, 0, 1)
                    pts = np.stack([cx + r * np.cos(angles), cy + r * np.sin(angles)], 1).astype(np.int32)
                    cv2.fillConvexPoly(self.canvas, pts, col, cv2.LINE_AA)
            x += adv + gap * squeeze


def _resolve(rng: np.random.Generator, layout: Layout | str | None) -> Layout:
    if layout is None:
        return pick_layout(rng)
    return get_layout(layout) if isinstance(layout, str) else layout


def _draw(rng: np.random.Generator, layout: Layout, width: int) -> tuple[np.ndarray, np.ndarray, PlateText]:
    """Draw a plate: (float32 RGB canvas, uint8 coverage mask, generated text)."""
    plate_text = generate_text(layout, rng)
    scheme = layout.schemes[weighted_index(rng, [s.weight for s in layout.schemes])]
    p = _Painter(rng, layout, scheme, width)
    p.fill_background()
    p.art()
    span = (0.0, 1.0)
    for band in layout.bands:
        if rng.random() < band.probability:
            bx0, bx1 = p.band(band)
            span = (max(span[0], bx1), span[1]) if band.side == "left" else (span[0], min(span[1], bx0))
    for cap in layout.captions:
        if rng.random() < cap.probability:
            p.caption(cap)
    if "mercosul" in layout.extras:
        p.mercosul()
    if "stickers" in layout.extras:
        p.stickers()
    if "ru_region" in layout.extras:
        p.ru_region()
    if "ua_flag" in layout.extras:
        p.ua_flag()
    p.border()
    p.bolts()
    for items, spec in zip(plate_text.lines, layout.lines):
        p.line(items, spec, (span[0] + 0.02, span[1] - 0.015))
    p.finish_ink()
    return p.canvas, _rounded_rect(p.w, p.h, round(layout.radius * p.h)), plate_text


def render_plate(rng: np.random.Generator, layout: Layout | str | None = None, width: int | None = None) -> SynthPlate:
    """Render one random plate, cut tight to its outline.

    Args:
        rng: Source of all randomness; the same generator state gives the same plate.
        layout: A layout, a layout name, or None for one drawn by weight from ``layouts.LAYOUTS``.
        width: Plate width in pixels; None fits the plate in 320x128.

    Returns:
        The plate image, its coverage mask and its label.

    Raises:
        FontsNotFoundError: when a font the layout needs is not installed.
        KeyError: for an unknown layout name.
    """
    layout = _resolve(rng, layout)
    if width is None:
        w_mm, h_mm = layout.size_mm
        width = round(w_mm * min(MAX_PLATE_W / w_mm, MAX_PLATE_H / h_mm))
    canvas, alpha, plate_text = _draw(rng, layout, width)
    return SynthPlate(image=np.clip(canvas, 0, 255).astype(np.uint8), alpha=alpha, text=plate_text.label,
                      country=layout.country, layout=layout.name, lines=plate_text.line_labels)


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cr, sr = math.cos(roll), math.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return rz @ rx @ ry


def _angle(rng: np.random.Generator, limit_deg: float) -> float:
    """A viewing angle in radians, mostly small, never beyond the limit."""
    return math.radians(max(-limit_deg, min(limit_deg, float(rng.normal(0.0, limit_deg / 2.2)))))


# Share of plates seen strongly tilted (a motorcycle leaning, a hand-held photo, a camera on a slope), up
# to TILT_DEG of roll; the detector's upright box around them shows background in the corners.
TILT_SHARE, TILT_DEG = 0.1, 25.0


def _project(rng: np.random.Generator, w: float, h: float) -> np.ndarray:
    """Image positions of a w x h plate's corners seen from a random camera angle (centred on the plate)."""
    corners = np.array([[-w / 2, -h / 2, 0], [w / 2, -h / 2, 0], [w / 2, h / 2, 0], [-w / 2, h / 2, 0]])
    roll = math.radians(_u(rng, -TILT_DEG, TILT_DEG)) if rng.random() < TILT_SHARE else _angle(rng, 5)
    rotated = corners @ _rotation(_angle(rng, 15), _angle(rng, 15), roll).T
    focal = w * _u(rng, 1.2, 4.0)
    z = rotated[:, 2] + focal
    return rotated[:, :2] * (focal / z)[:, None]


def _crop_quad(rng: np.random.Generator, layout: Layout, out_w: int, out_h: int) -> np.ndarray:
    """Where the plate corners land in the crop: a detector box around the projected plate, resized."""
    quad = _project(rng, float(layout.size_mm[0]), float(layout.size_mm[1]))
    bx0, by0 = quad.min(axis=0)
    bx1, by1 = quad.max(axis=0)
    bw, bh = bx1 - bx0, by1 - by0
    # Mostly tight boxes (a few pixels cut or added), sometimes loose ones with the car around.
    lo, hi = (0.0, 0.22) if rng.random() < 0.3 else (-0.02, 0.07)
    left, top, right, bottom = (_u(rng, lo, hi) * s for s in (0.6 * bw, bh, 0.6 * bw, bh))
    cx0, cy0 = bx0 - left, by0 - top
    return (quad - [cx0, cy0]) * [out_w / (bw + left + right), out_h / (bh + top + bottom)]


def render_crop(rng: np.random.Generator, out_size: tuple[int, int] = (160, 48),
                layout: Layout | str | None = None) -> tuple[np.ndarray, str, str]:
    """Render a plate as a detector would crop it from a photo: angle, margins, scene, light, blur, noise.

    Args:
        rng: Source of all randomness; the same generator state gives the same crop.
        out_size: (width, height) of the returned crop.
        layout: A layout, a layout name, or None for one drawn by weight from all layouts (for another mix,
            pass ``layouts.pick_layout(rng, my_layouts)``).

    Returns:
        (crop, text, country): an HxWx3 uint8 RGB image of ``out_size``, its label and country code.

    Raises:
        FontsNotFoundError: when a font the layout needs is not installed.
        KeyError: for an unknown layout name.
    """
    out_w, out_h = out_size
    layout = _resolve(rng, layout)
    dst = _crop_quad(rng, layout, out_w, out_h)

    # Draw the plate only a little larger than it appears, so drawing is cheap and the warp does not alias.
    aspect = layout.size_mm[0] / layout.size_mm[1]
    span_w, span_h = float(np.ptp(dst[:, 0])), float(np.ptp(dst[:, 1]))
    width = round(min(4 * out_w, max(OVERSAMPLE * span_w, OVERSAMPLE * span_h * aspect, 48)))
    face, alpha, plate_text = _draw(rng, layout, width)
    effects.weather(rng, face)
    ph, pw = alpha.shape

    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    warped = cv2.warpPerspective(face, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REPLICATE)
    cover = cv2.warpPerspective(alpha, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    img = effects.background(rng, out_w, out_h)
    if rng.random() < 0.35:  # plate holder / dealer frame around the plate
        centre = dst.mean(axis=0)
        frame = ((dst - centre) * [_u(rng, 1.02, 1.1), _u(rng, 1.06, 1.35)] + centre) * 16
        shade = _u(rng, 10, 200)
        cv2.fillConvexPoly(img, frame.astype(np.int32), (shade, shade, shade * _u(rng, 0.9, 1.1)), cv2.LINE_AA,
                           shift=4)
    a = cover.astype(np.float32) * np.float32(1.0 / 255.0)
    effects.lerp(img, warped, a)

    if rng.random() < 0.3:
        effects.shadow(rng, img)
    if rng.random() < 0.2:
        effects.glare(rng, img)
    sigma = effects.lighting(rng, img, a)
    img = effects.blur(rng, img)
    if rng.random() < 0.35:
        img = effects.low_resolution(rng, img)
    if rng.random() < 0.7:
        cv2.scaleAdd(effects.noise(rng, out_h, out_w), sigma, img, dst=img)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        out = effects.jpeg(rng, out)
    return out, plate_text.label, layout.country
