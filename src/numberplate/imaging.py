"""Image input: any path, bytes, numpy array or PIL image -> an RGB uint8 array, or a specific error."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from numberplate.errors import ImageDecodeError, ImageTooLargeError, UnsupportedImageError

ImageInput = Union[str, Path, bytes, bytearray, memoryview, np.ndarray, Image.Image]
SUPPORTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF", "MPO"})
DEFAULT_MAX_PIXELS = 50_000_000


def _describe(source: object) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes>"
    return f"<{type(source).__name__}>"


def load_image(source: ImageInput, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode ``source`` into an RGB ``uint8`` array of shape (H, W, 3).

    EXIF orientation is applied; grayscale, 16-bit, palette and alpha images are converted
    (alpha composited on white); GIFs give their first frame.

    Raises:
        FileNotFoundError: a path that does not exist.
        ImageDecodeError: empty, truncated, corrupt or non-image data.
        UnsupportedImageError: an input type or image format we do not read.
        ImageTooLargeError: more than ``max_pixels`` pixels.
    """
    if isinstance(source, np.ndarray):
        return _from_array(source, max_pixels)
    if isinstance(source, Image.Image):
        return _from_pil(source, "<PIL image>", max_pixels)
    name = _describe(source)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"image file {path} does not exist")
        if path.is_dir():
            raise UnsupportedImageError(f"{path} is a directory, not an image file")
        data = path.read_bytes()
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        raise UnsupportedImageError(
            f"cannot read an image from {type(source).__name__}; pass a path, bytes, a numpy array or a PIL image"
        )
    if not data:
        raise ImageDecodeError(f"{name} is empty (0 bytes)")
    return _decode_bytes(data, name, max_pixels)


def _decode_bytes(data: bytes, name: str, max_pixels: int) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            fmt = img.format
            if fmt not in SUPPORTED_FORMATS:
                raise UnsupportedImageError(
                    f"{name} is a {fmt} image; supported formats are JPEG, PNG, WebP, BMP, TIFF and GIF"
                )
            _check_pixels(img.size, name, max_pixels)
            img.load()
    except UnidentifiedImageError as e:
        raise ImageDecodeError(f"{name} is not an image (format not recognised)") from e
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageTooLargeError(f"{name} is too large to decode safely ({e})") from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageDecodeError(f"{name} is truncated or corrupt: {e}") from e
    return _from_pil(img, name, max_pixels)


def _check_pixels(size: tuple[int, int], name: str, max_pixels: int) -> None:
    w, h = size
    if w <= 0 or h <= 0:
        raise ImageDecodeError(f"{name} has no pixels ({w}x{h})")
    if w * h > max_pixels:
        raise ImageTooLargeError(
            f"{name} is {w}x{h} = {w * h:,} pixels, over the limit of {max_pixels:,}; resize it first"
        )


def _from_pil(img: Image.Image, name: str, max_pixels: int) -> np.ndarray:
    _check_pixels(img.size, name, max_pixels)
    try:
        img.seek(0)  # first frame of animations
    except EOFError:
        pass
    try:
        img = ImageOps.exif_transpose(img) or img
    except (OSError, ValueError, SyntaxError, TypeError):
        pass  # a broken EXIF block must not lose the picture
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "I;16N"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        arr = np.clip(arr / top * 255.0, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(arr[..., None], 3, axis=2))
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        return np.ascontiguousarray(np.repeat(arr.astype(np.uint8)[..., None], 3, axis=2))
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


def _from_array(arr: np.ndarray, max_pixels: int) -> np.ndarray:
    """Accept HxW, HxWx1, HxWx3 (RGB) or HxWx4 (RGBA) arrays of uint8, uint16 or float in [0, 1]."""
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
        raise UnsupportedImageError(
            f"numpy image must be HxW, HxWx1, HxWx3 or HxWx4, got shape {arr.shape}"
        )
    _check_pixels((arr.shape[1], arr.shape[0]), "<numpy array>", max_pixels)
    if arr.dtype == np.uint8:
        out = arr
    elif arr.dtype == np.uint16:
        out = (arr // 257).astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ImageDecodeError("numpy image contains NaN or infinite values")
        out = (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    else:
        raise UnsupportedImageError(f"numpy image dtype {arr.dtype} is not supported; use uint8, uint16 or float")
    if out.ndim == 2:
        out = out[..., None]
    if out.shape[2] == 1:
        out = np.repeat(out, 3, axis=2)
    elif out.shape[2] == 4:
        alpha = out[..., 3:4].astype(np.float32) / 255.0
        out = (out[..., :3] * alpha + 255.0 * (1 - alpha) + 0.5).astype(np.uint8)
    return np.ascontiguousarray(out)


def encode_jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    """Encode an RGB array as JPEG bytes."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def encode_png(image: np.ndarray) -> bytes:
    """Encode an RGB array as PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()
