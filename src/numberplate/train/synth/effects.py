"""Camera and weather effects for synthetic plate crops: clutter, wear, shadows, glare, light, blur, noise, JPEG."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, cast

import cv2
import numpy as np

from numberplate.train.synth.rand import randint as _i
from numberplate.train.synth.rand import uniform as _u

# Car body colours (RGB) a plate is mounted on.
CAR_PAINTS = (
    (235, 235, 235), (200, 200, 205), (150, 152, 158), (90, 92, 98), (30, 30, 32), (15, 15, 18),
    (140, 20, 25), (180, 40, 30), (25, 45, 110), (40, 80, 150), (30, 70, 45), (200, 190, 160),
    (120, 90, 60), (230, 200, 60), (60, 60, 60), (110, 120, 130),
)
_NOISE_SIDE = 512

Colour = tuple[float, float, float, float]  # an OpenCV scalar: three channels and an unused fourth


def scalar(rgb: np.ndarray | tuple[float, ...]) -> Colour:
    """An RGB colour as the 4-tuple OpenCV arithmetic takes for a per-channel constant."""
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]), 0.0)


def three(m: np.ndarray) -> np.ndarray:
    """A single-channel float32 map stacked into three channels (OpenCV arithmetic does not broadcast)."""
    return cv2.merge([m, m, m])


def lerp(img: np.ndarray, target: np.ndarray | Colour, alpha: np.ndarray) -> None:
    """In place ``img += (target - img) * alpha`` for a float32 HxWx3 image and an HxW float32 alpha.

    OpenCV is used because numpy's broadcasting over a last axis of 3 is several times slower here.
    """
    d = cv2.subtract(img, cast(Any, target))  # the stubs do not know OpenCV's scalar tuples
    cv2.multiply(d, three(alpha), dst=d)
    cv2.subtract(img, d, dst=img)


@lru_cache(maxsize=2)
def _noise_bank(channels: int) -> np.ndarray:
    # One fixed block of Gaussian noise; samples are random windows of it (far cheaper than drawing anew).
    shape = (_NOISE_SIDE, _NOISE_SIDE) if channels == 1 else (_NOISE_SIDE, _NOISE_SIDE, channels)
    return np.random.default_rng(12345 + channels).standard_normal(shape, dtype=np.float32)


def noise(rng: np.random.Generator, height: int, width: int, channels: int = 3) -> np.ndarray:
    """Standard normal noise, (height, width) for one channel else (height, width, 3): a window of a fixed bank."""
    if height > _NOISE_SIDE or width > _NOISE_SIDE:
        shape = (height, width) if channels == 1 else (height, width, channels)
        return rng.standard_normal(shape, dtype=np.float32)
    y, x = _i(rng, 0, _NOISE_SIDE - height + 1), _i(rng, 0, _NOISE_SIDE - width + 1)
    return _noise_bank(1 if channels == 1 else 3)[y:y + height, x:x + width]


@lru_cache(maxsize=16)
def _grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return xs, ys


def low_freq(rng: np.random.Generator, width: int, height: int, channels: int = 1, cells: int = 4) -> np.ndarray:
    """Smooth random field in about [-1, 1]: a few random values interpolated up to the image size."""
    gh = max(2, cells * height // max(width, height) + 1)
    gw = max(2, cells * width // max(width, height) + 1)
    small = rng.standard_normal((gh, gw, channels)).astype(np.float32)
    out = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    return out.reshape(height, width, channels)


def background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A float32 RGB scene behind the plate: car paint, gradient, texture, bumper edges and lamps."""
    paint = np.asarray(CAR_PAINTS[_i(rng, 0, len(CAR_PAINTS))], np.float32) * _u(rng, 0.6, 1.15)
    corners = np.stack([paint * _u(rng, 0.7, 1.2), paint * _u(rng, 0.5, 1.1)])[:, None, :].repeat(2, axis=1)
    img = cv2.resize(corners, (width, height), interpolation=cv2.INTER_LINEAR)
    cv2.scaleAdd(low_freq(rng, width, height, 3, cells=_i(rng, 2, 8)), _u(rng, 5, 35), img, dst=img)
    for _ in range(_i(rng, 0, 5)):
        colour = (_u(rng, 0, 255), _u(rng, 0, 255), _u(rng, 0, 255))
        kind = rng.random()
        if kind < 0.5:  # bumper / boot edges
            y = _i(rng, 0, height)
            cv2.line(img, (0, y), (width - 1, y + _i(rng, -6, 7)), colour, _i(rng, 1, 4), cv2.LINE_AA)
        elif kind < 0.8:  # lamps, badges, grille slots
            x, y = _i(rng, 0, width), _i(rng, 0, height)
            cv2.rectangle(img, (x, y), (x + _i(rng, 4, width // 3), y + _i(rng, 2, height // 2)), colour, -1)
        else:
            cv2.circle(img, (_i(rng, 0, width), _i(rng, 0, height)), _i(rng, 2, height // 2), colour, -1,
                       cv2.LINE_AA)
    if rng.random() < 0.5:
        cv2.scaleAdd(three(noise(rng, height, width, 1)), _u(rng, 2, 10), img, dst=img)
    return img


def weather(rng: np.random.Generator, plate: np.ndarray) -> None:
    """Dirt, stains, fading and scratches on a float32 RGB plate image (in place)."""
    h, w = plate.shape[:2]
    if rng.random() < 0.35:  # fading towards grey, as sun-bleached plates
        k = _u(rng, 0.05, 0.35)
        cv2.addWeighted(plate, 1.0 - k, plate, 0.0, k * float(plate.mean()), dst=plate)
    if rng.random() < 0.4:  # patchy dirt
        field = low_freq(rng, w, h, 1, cells=_i(rng, 3, 10))[..., 0]
        amount = np.clip(field - _u(rng, 0.0, 1.2), 0.0, 1.0) * _u(rng, 0.3, 0.8)
        lerp(plate, (_u(rng, 60, 120), _u(rng, 50, 95), _u(rng, 30, 70), 0.0), amount)
    if rng.random() < 0.25:  # stains and splashes
        stains = np.ones((h, w), np.float32)
        for _ in range(_i(rng, 1, 6)):
            centre = (_i(rng, 0, w), _i(rng, 0, h))
            axes = (_i(rng, 1, max(2, w // 12)), _i(rng, 1, max(2, h // 5)))
            cv2.ellipse(stains, centre, axes, _u(rng, 0, 180), 0, 360, _u(rng, 0.4, 0.85), -1, cv2.LINE_AA)
        cv2.multiply(plate, three(stains), dst=plate)
    if rng.random() < 0.15:  # scratches
        for _ in range(_i(rng, 1, 5)):
            p0 = (_i(rng, 0, w), _i(rng, 0, h))
            p1 = (p0[0] + _i(rng, -w // 4, w // 4 + 1), p0[1] + _i(rng, -h // 2, h // 2 + 1))
            cv2.line(plate, p0, p1, (_u(rng, 150, 240),) * 3, 1, cv2.LINE_AA)
    if rng.random() < 0.5:  # print and sheet texture
        cv2.scaleAdd(three(noise(rng, h, w, 1)), _u(rng, 1, 6), plate, dst=plate)


def shadow(rng: np.random.Generator, img: np.ndarray) -> None:
    """Darken the image on one side of a random soft-edged line (in place)."""
    h, w = img.shape[:2]
    xs, ys = _grid(w, h)
    angle = _u(rng, 0, 2 * np.pi)
    nx, ny = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    offset = nx * _u(rng, 0, w) + ny * _u(rng, 0, h)
    side = np.clip((xs * nx + ys * ny - offset) * np.float32(1.0 / _u(rng, 0.5, 6.0)) + 0.5, 0.0, 1.0)
    cv2.multiply(img, three(1.0 - side * np.float32(_u(rng, 0.25, 0.65))), dst=img)


def glare(rng: np.random.Generator, img: np.ndarray) -> None:
    """Add a specular highlight: a bright elliptical blob (in place)."""
    h, w = img.shape[:2]
    xs, ys = _grid(w, h)
    cx, cy = _u(rng, 0, w), _u(rng, 0, h)
    sx, sy = _u(rng, 0.04, 0.35) * w, _u(rng, 0.1, 0.6) * h
    blob = np.exp(-((xs - cx) ** 2 * np.float32(0.5 / (sx * sx)) + (ys - cy) ** 2 * np.float32(0.5 / (sy * sy))))
    cv2.scaleAdd(three(blob), _u(rng, 40, 170), img, dst=img)


def lighting(rng: np.random.Generator, img: np.ndarray, plate_alpha: np.ndarray) -> float:
    """Exposure, contrast, night scenes, colour casts and grey / infra-red looks (in place).

    Args:
        rng: Source of randomness.
        img: float32 HxWx3 image, changed in place.
        plate_alpha: float32 HxW plate coverage (night scenes light the reflective plate more than the car).

    Returns:
        The standard deviation of sensor noise that suits the light (more at night).
    """
    sigma = _u(rng, 0, 8)
    if rng.random() < 0.12:  # night: dark scene, plate lit by headlamps or its own reflectivity
        scene, lit = _u(rng, 0.08, 0.35), _u(rng, 0.45, 1.1)
        cv2.multiply(img, three(scene + (lit - scene) * plate_alpha), dst=img)
        sigma = _u(rng, 4, 16)
    else:
        img *= _u(rng, 0.6, 1.25)
        img += _u(rng, -30, 25)
    if rng.random() < 0.5:
        cast_ = (_u(rng, 0.82, 1.18), _u(rng, 0.82, 1.18), _u(rng, 0.82, 1.18), 0.0)
        cv2.multiply(img, cast(Any, cast_), dst=img)
    if rng.random() < 0.3:  # haze, dirty lens, washed-out camera: pull towards one flat colour
        k = _u(rng, 0.1, 0.45)
        level = _u(rng, 60, 200)
        haze = (level * _u(rng, 0.9, 1.1), level, level * _u(rng, 0.9, 1.1), 0.0)
        cv2.addWeighted(img, 1.0 - k, img, 0.0, 0.0, dst=img)
        cv2.add(img, cast(Any, tuple(c * k for c in haze)), dst=img)
    np.clip(img, 0, 255, out=img)
    if rng.random() < 0.5:
        img *= 1.0 / 255.0
        cv2.pow(img, _u(rng, 0.7, 1.5), dst=img)
        img *= 255.0
    look = rng.random()
    if look < 0.08:  # grey camera
        img[:] = three(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY))
    elif look < 0.13:  # infra-red camera with a green or plain tint
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        img[:] = cv2.merge([grey * _u(rng, 0.2, 0.6), grey, grey * _u(rng, 0.4, 0.8)])
    return sigma


def blur(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Gaussian defocus, a short motion streak, an over-sharpening camera, or nothing."""
    r = rng.random()
    if r < 0.45:
        return cv2.GaussianBlur(img, (0, 0), _u(rng, 0.3, 1.3))
    if r < 0.6:
        k = _i(rng, 3, 8)
        kernel = np.zeros((k, k), np.float32)
        angle = np.radians(_u(rng, 0, 180))
        c = (k - 1) / 2
        dx, dy = np.cos(angle) * c, np.sin(angle) * c
        cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1)
        return cv2.filter2D(img, -1, kernel / max(float(kernel.sum()), 1e-6))
    if r < 0.68:
        amount = _u(rng, 0.3, 1.0)
        return cv2.addWeighted(img, 1.0 + amount, cv2.GaussianBlur(img, (0, 0), _u(rng, 0.8, 2.0)), -amount, 0.0)
    return img


def low_resolution(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Shrink then enlarge again, as for a far-away plate that the detector crop blew up."""
    h, w = img.shape[:2]
    f = _u(rng, 0.25, 0.75)
    small = cv2.resize(img, (max(8, round(w * f)), max(4, round(h * f))), interpolation=cv2.INTER_AREA)
    interp = (cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_NEAREST)[_i(rng, 0, 3)]
    return cv2.resize(small, (w, h), interpolation=interp)


def jpeg(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Re-compress a uint8 RGB image as JPEG at a random quality."""
    quality = _i(rng, 15, 96)
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(img[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
    if decoded is None:  # pragma: no cover - OpenCV always round-trips a valid uint8 image
        return img
    return np.ascontiguousarray(decoded[..., ::-1])
