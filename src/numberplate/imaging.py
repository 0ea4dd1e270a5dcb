"""Image input: any path, bytes, numpy array or PIL image -> an RGB uint8 array, or a specific error."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import BinaryIO, TypeAlias

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from numberplate.errors import ImageDecodeError, ImageError, ImageTooLargeError, UnsupportedImageError

try:  # HEIC photos (iPhones' default): pillow-heif is a dependency; without it they are "not recognised".
    from pillow_heif import register_heif_opener
except ImportError:  # pragma: no cover - only when installed without its dependencies
    pass
else:
    register_heif_opener()

ImageInput: TypeAlias = str | Path | bytes | bytearray | memoryview | np.ndarray | Image.Image
# MPO: multi-picture JPEG; HEIF: HEIC, the iPhone camera's format (through pillow-heif); AVIF: Pillow's own.
SUPPORTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "HEIF", "AVIF", "BMP", "TIFF", "GIF", "MPO"})
SUPPORTED_NAMES = "JPEG, PNG, WebP, HEIC, AVIF, BMP, TIFF or GIF"
DEFAULT_MAX_PIXELS = 50_000_000

_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
# Floats may overshoot [0, 1] by rounding; beyond half a grey level it is data in another range (e.g. 0-255).
_FLOAT_TOLERANCE = 0.5 / 255.0


def _describe(source: object) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{memoryview(source).nbytes} bytes>"  # the web layer swaps this exact text for the file name
    return f"<{type(source).__name__}>"


def load_image(source: ImageInput, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode ``source`` into a C-contiguous RGB ``uint8`` array of shape (H, W, 3).

    Files and bytes: JPEG, PNG, WebP, HEIC, AVIF, BMP, TIFF or GIF (first frame). EXIF orientation is applied;
    grayscale, 1-bit, 16-bit, palette and CMYK images are converted; alpha and transparency are
    composited on white. A PIL image is used at its current frame. Numpy arrays are HxW, HxWx1,
    HxWx3 (RGB) or HxWx4 (RGBA) of uint8, uint16 or float in [0, 1]; a C-contiguous uint8 HxWx3
    array is returned as is, not copied.

    Args:
        source: a path (str or Path), encoded bytes (bytes, bytearray, memoryview), a numpy array
            or a PIL image.
        max_pixels: images with more pixels (width x height) are refused before decoding.

    Raises:
        FileNotFoundError: a path that does not exist.
        ImageDecodeError: empty, truncated, corrupt or non-image data; NaN or out-of-range floats.
        UnsupportedImageError: an input type, array shape/dtype or image format we do not read.
        ImageTooLargeError: more than ``max_pixels`` pixels.
    """
    if isinstance(source, np.ndarray):
        return _from_array(source, "<numpy array>", max_pixels)
    if isinstance(source, Image.Image):
        return _from_pil(source, "<PIL image>", max_pixels)
    name = _describe(source)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"image file {path} does not exist; check the path")
        if path.is_dir():
            raise UnsupportedImageError(f"{path} is a directory, not an image file; pass the path of an image file")
        # Opened, not read whole: Pillow reads the header first, so a huge file that is no image is refused
        # without filling the memory.
        with open(path, "rb") as fh:
            if not fh.peek(1):
                raise ImageDecodeError(f"{name} is empty (0 bytes); pass a complete image file")
            return _decode(fh, name, max_pixels)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise ImageDecodeError(f"{name} is empty; pass the bytes of a complete image file")
        return _decode(io.BytesIO(data), name, max_pixels)
    raise UnsupportedImageError(
        f"cannot read an image from {type(source).__name__}; pass a path, bytes, a numpy array or a PIL image"
    )


def _decode(fh: BinaryIO, name: str, max_pixels: int) -> np.ndarray:
    # No warnings.catch_warnings() here: it swaps the process-wide filters and is not thread-safe (the web
    # server decodes on several threads). Pillow's DecompressionBombWarning is only a warning; our own
    # size check below refuses those images with a precise message.
    try:
        img = Image.open(fh)
        fmt = img.format
        if fmt not in SUPPORTED_FORMATS:
            raise UnsupportedImageError(
                f"{name} is {_article(fmt)} {fmt} image, which is not supported; convert it to {SUPPORTED_NAMES}"
            )
        _check_pixels(img.size, name, max_pixels)  # before load(): a bomb is refused from its header alone
        img.load()
    except ImageError:
        raise
    except UnidentifiedImageError as e:
        raise ImageDecodeError(f"{name} is not an image (format not recognised); pass a {SUPPORTED_NAMES} file") from e
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageTooLargeError(_bomb_message(name, e, max_pixels)) from e
    except MemoryError:
        raise
    except Exception as e:  # any decoder failure on untrusted bytes (OSError, SyntaxError, struct.error, ...)
        raise ImageDecodeError(
            f"{name} is truncated or corrupt ({e or type(e).__name__}); re-export or re-upload the image"
        ) from e
    return _from_pil(img, name, max_pixels)


def _article(word: str | None) -> str:
    return "an" if word and word[0] in "AEIOU" else "a"


def _bomb_message(name: str, error: Exception, max_pixels: int) -> str:
    """Pillow refused the header before we saw its size: a warning above MAX_IMAGE_PIXELS, an error above twice it."""
    pil_limit = Image.MAX_IMAGE_PIXELS or 0
    over = pil_limit * 2 if isinstance(error, Image.DecompressionBombError) else pil_limit
    return f"{name} has more than {over:,} pixels, over the limit of {min(max_pixels, over):,}; resize it first"


def _check_pixels(size: tuple[int, int], name: str, max_pixels: int) -> None:
    w, h = size
    if w <= 0 or h <= 0:
        raise ImageDecodeError(f"{name} has no pixels ({w}x{h}); pass a non-empty image")
    if w * h > max_pixels:
        raise ImageTooLargeError(
            f"{name} is {w}x{h} = {w * h:,} pixels, over the limit of {max_pixels:,}; resize it first"
        )


def _from_pil(img: Image.Image, name: str, max_pixels: int) -> np.ndarray:
    _check_pixels(img.size, name, max_pixels)
    try:
        return _pil_to_rgb(img, name, max_pixels)
    except ImageError:
        raise
    except MemoryError:
        raise
    except Exception as e:  # a lazily loaded PIL image can fail here on truncated data
        raise ImageDecodeError(
            f"{name} is truncated or corrupt ({e or type(e).__name__}); re-export or re-upload the image"
        ) from e


def _pil_to_rgb(img: Image.Image, name: str, max_pixels: int) -> np.ndarray:
    img.load()  # decode errors surface here, not inside the EXIF step below that tolerates them
    with contextlib.suppress(OSError, ValueError, SyntaxError, TypeError, KeyError):
        # Only when turned: exif_transpose copies an upright image too (200 MB for 50 megapixels in Pillow).
        if img.getexif().get(ExifTags.Base.Orientation, 1) != 1:
            img = ImageOps.exif_transpose(img) or img  # a broken EXIF block must not lose the picture
    mode = img.mode
    if mode in _SIXTEEN_BIT_MODES or mode == "I":
        arr = np.asarray(img).astype(np.int64)
        if mode == "I" and arr.max() <= 255:
            return _from_array(np.clip(arr, 0, 255).astype(np.uint8), name, max_pixels)  # 8-bit data in 32 bits
        return _from_array(np.clip(arr, 0, 65535).astype(np.uint16), name, max_pixels)
    if mode == "F":
        values = np.asarray(img, dtype=np.float64)
        if not np.isfinite(values).all() or float(values.min()) < -_FLOAT_TOLERANCE or float(values.max()) > 255.0:
            raise UnsupportedImageError(f"{name} is a floating-point image whose values are not 0-1 or 0-255 "
                                        "brightness; save it as an 8- or 16-bit image")
        if float(values.max()) > 1.0 + _FLOAT_TOLERANCE:
            values = values / 255.0  # a float file holding 0-255 values (arrays passed in must already be in [0, 1])
        return _from_array(values, name, max_pixels)
    if mode in _ALPHA_MODES or "transparency" in img.info:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    if img.mode != "RGB":
        img = img.convert("RGB")  # converting to its own mode would copy it
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))


def _from_array(arr: np.ndarray, name: str, max_pixels: int) -> np.ndarray:
    """Accept HxW, HxWx1, HxWx3 (RGB) or HxWx4 (RGBA) arrays of uint8, uint16 or float in [0, 1]."""
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
        raise UnsupportedImageError(
            f"{name} has shape {arr.shape}; pass HxW (gray), HxWx1, HxWx3 (RGB) or HxWx4 (RGBA)"
        )
    _check_pixels((arr.shape[1], arr.shape[0]), name, max_pixels)
    kind, size = arr.dtype.kind, arr.dtype.itemsize
    if kind == "u" and size == 1:
        out = arr.astype(np.uint8, copy=False)
    elif kind == "u" and size == 2:
        out = ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)  # 0-65535 -> 0-255, rounded
    elif kind == "f":
        if not np.isfinite(arr).all():
            raise ImageDecodeError(f"{name} contains NaN or infinite values; replace them (e.g. np.nan_to_num) first")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < -_FLOAT_TOLERANCE or hi > 1.0 + _FLOAT_TOLERANCE:
            raise ImageDecodeError(
                f"{name} is float with values from {lo:g} to {hi:g}; float images must be in [0, 1] "
                "(divide 0-255 data by 255, or pass uint8)"
            )
        out = (np.clip(arr.astype(np.float64), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    else:
        raise UnsupportedImageError(
            f"{name} has dtype {arr.dtype}; pass uint8 (0-255), uint16 (0-65535) or float (0-1)"
        )
    if out.ndim == 2:
        out = out[..., None]
    if out.shape[2] == 1:
        out = np.repeat(out, 3, axis=2)
    elif out.shape[2] == 4:
        alpha = out[..., 3:4].astype(np.float32) / 255.0
        out = (out[..., :3] * alpha + 255.0 * (1 - alpha) + 0.5).astype(np.uint8)  # composite on white
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
