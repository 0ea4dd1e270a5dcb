"""load_image: every supported format, mode and input type decodes to RGB uint8; every bad input fails clearly."""

from __future__ import annotations

import io
import os
import re
import resource
import struct
import tracemalloc
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFile, ImageSequence

from numberplate.errors import ImageDecodeError, ImageTooLargeError, UnsupportedImageError
from numberplate.imaging import load_image

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
SUPPORTED = "JPEG, PNG, WebP, HEIC, AVIF, BMP, TIFF or GIF"
PIL_BOMB_LIMIT = 89_478_485  # Pillow's default Image.MAX_IMAGE_PIXELS, pinned by the `pil_limit` fixture

# 2x3 RGB pattern every lossless format must give back exactly.
PATTERN = np.array([[RED, GREEN, BLUE], [(200, 100, 50), (0, 0, 0), WHITE]], dtype=np.uint8)


def encode(img: Image.Image, fmt: str, **params: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def check_rgb(out: np.ndarray, shape: tuple[int, int]) -> None:
    """The output contract: C-contiguous uint8 (H, W, 3)."""
    assert out.shape == (*shape, 3)
    assert out.dtype == np.uint8
    assert out.flags.c_contiguous


def png_claiming(width: int, height: int) -> bytes:
    """A tiny valid 1x1 PNG whose IHDR (with a correct CRC) claims ``width`` x ``height`` pixels."""
    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def noise_image(w: int = 320, h: int = 240) -> Image.Image:
    """Busy content, so most of an encoded file is pixel data (a cut lands in the image, not the header)."""
    return Image.fromarray(np.random.default_rng(7).integers(0, 256, (h, w, 3), dtype=np.uint8))


@pytest.fixture
def pil_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", PIL_BOMB_LIMIT)
    return PIL_BOMB_LIMIT


# --- every format -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "params"),
    [("PNG", {}), ("WEBP", {"lossless": True}), ("BMP", {}), ("TIFF", {}), ("GIF", {})],
)
def test_lossless_formats_decode_exactly(fmt: str, params: dict[str, Any]) -> None:
    data = encode(Image.fromarray(PATTERN), fmt, **params)
    assert Image.open(io.BytesIO(data)).format == fmt
    out = load_image(data)
    check_rgb(out, (2, 3))
    np.testing.assert_array_equal(out, PATTERN)


@pytest.mark.parametrize("fmt", ["JPEG", "MPO"])
def test_jpeg_family_decodes(fmt: str) -> None:
    # A flat colour survives JPEG almost unchanged (only the DC coefficient is quantised).
    img = Image.new("RGB", (16, 16), (200, 100, 50))
    data = encode(img, fmt, quality=95, **({"save_all": True, "append_images": [img]} if fmt == "MPO" else {}))
    assert Image.open(io.BytesIO(data)).format == fmt
    out = load_image(data)
    check_rgb(out, (16, 16))
    np.testing.assert_allclose(out.reshape(-1, 3), np.full((256, 3), (200, 100, 50)), atol=2)


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_phone_formats_decode(fmt: str, tmp_path: Path) -> None:
    # HEIC (iPhones' camera format) and AVIF: lossy, so compare a flat colour.
    img = Image.new("RGB", (32, 24), (200, 100, 50))
    data = encode(img, fmt, quality=95)
    assert Image.open(io.BytesIO(data)).format == fmt
    path = tmp_path / f"photo.{'heic' if fmt == 'HEIF' else 'avif'}"
    path.write_bytes(data)
    for source in (data, path):
        out = load_image(source)
        check_rgb(out, (24, 32))
        np.testing.assert_allclose(out.reshape(-1, 3), np.full((24 * 32, 3), (200, 100, 50)), atol=6)


def test_truncated_heic_is_a_decode_error() -> None:
    data = encode(Image.new("RGB", (64, 48), (200, 100, 50)), "HEIF", quality=90)
    with pytest.raises(ImageDecodeError, match=r"is not an image \(format not recognised\)"):
        load_image(data[: len(data) // 2])


def test_animated_gif_gives_first_frame(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    Image.new("RGB", (8, 6), RED).save(path, save_all=True, append_images=[Image.new("RGB", (8, 6), BLUE)])
    with Image.open(path) as img:
        assert sum(1 for _ in ImageSequence.Iterator(img)) == 2
    for source in (path, path.read_bytes()):
        out = load_image(source)
        check_rgb(out, (6, 8))
        assert (out == RED).all()


def test_pil_image_is_read_at_its_current_frame_and_left_there(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    Image.new("RGB", (8, 6), RED).save(path, save_all=True, append_images=[Image.new("RGB", (8, 6), BLUE)])
    with Image.open(path) as img:
        img.seek(1)
        out = load_image(img)
        assert img.tell() == 1
    assert (out == BLUE).all()


# --- EXIF orientation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orientation", "shape", "marker"),
    [
        (1, (32, 64), (0, 0)),  # as stored
        (3, (32, 64), (31, 63)),  # rotated 180: the top-left marker lands bottom-right
        (6, (64, 32), (0, 31)),  # display = stored turned 90 clockwise: top-left -> top-right
        (8, (64, 32), (63, 0)),  # display = stored turned 90 anticlockwise: top-left -> bottom-left
    ],
)
def test_exif_orientation_is_applied(orientation: int, shape: tuple[int, int], marker: tuple[int, int]) -> None:
    img = Image.new("RGB", (64, 32), WHITE)  # stored landscape, 64 wide
    img.paste(RED, (0, 0, 16, 16))  # a red marker in the stored top-left corner (whole JPEG blocks)
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = load_image(encode(img, "JPEG", quality=95, exif=exif.tobytes()))
    check_rgb(out, shape)
    red = (out[..., 0] > 200) & (out[..., 1] < 60) & (out[..., 2] < 60)
    assert red[marker]
    assert red.sum() == pytest.approx(16 * 16, abs=40)  # the marker, not a smear: nothing else is red
    corners = {(0, 0), (0, shape[1] - 1), (shape[0] - 1, 0), (shape[0] - 1, shape[1] - 1)}
    assert [c for c in corners if red[c]] == [marker]


# --- image modes --------------------------------------------------------------------------------------------


def test_grayscale_is_repeated_into_rgb() -> None:
    out = load_image(encode(Image.fromarray(np.array([[0, 77, 255]], dtype=np.uint8), "L"), "PNG"))
    check_rgb(out, (1, 3))
    assert out.tolist() == [[[0, 0, 0], [77, 77, 77], [255, 255, 255]]]


def test_16_bit_grayscale_png_is_scaled_to_8_bits() -> None:
    values = np.array([[0, 65535], [257 * 100, 32768]], dtype=np.uint16)
    data = encode(Image.fromarray(values), "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    out = load_image(data)
    check_rgb(out, (2, 2))
    assert out[..., 0].tolist() == [[0, 255], [100, 128]]
    assert (out[..., 0] == out[..., 2]).all()


def test_dark_16_bit_png_stays_dark() -> None:
    # 200 of 65535 is almost black; it used to be mistaken for 8-bit data and shown as light grey (200).
    out = load_image(encode(Image.fromarray(np.array([[200, 65535]], dtype=np.uint16)), "PNG"))
    assert out[0, :, 0].tolist() == [1, 255]


def test_one_bit_image() -> None:
    img = Image.new("1", (2, 2), 0)
    img.putpixel((1, 0), 1)
    out = load_image(encode(img, "PNG"))
    check_rgb(out, (2, 2))
    assert out.tolist() == [[[0, 0, 0], [255, 255, 255]], [[0, 0, 0], [0, 0, 0]]]


def _palette_image() -> Image.Image:
    img = Image.new("P", (2, 1), 0)
    img.putpalette([*RED, *GREEN] + [0, 0, 0] * 254)
    img.putpixel((1, 0), 1)
    return img


def test_palette_image() -> None:
    out = load_image(encode(_palette_image(), "PNG"))
    check_rgb(out, (1, 2))
    assert out.tolist() == [[list(RED), list(GREEN)]]


def test_palette_transparency_is_composited_on_white() -> None:
    data = encode(_palette_image(), "PNG", transparency=0)  # palette entry 0 (red) fully transparent
    assert Image.open(io.BytesIO(data)).mode == "P"
    assert load_image(data).tolist() == [[list(WHITE), list(GREEN)]]


def test_rgba_is_composited_on_white() -> None:
    rgba = np.array([[[10, 20, 30, 0], [10, 20, 30, 255], [0, 0, 0, 128]]], dtype=np.uint8)
    out = load_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    check_rgb(out, (1, 3))
    assert out.tolist() == [[[255, 255, 255], [10, 20, 30], [127, 127, 127]]]


def test_la_is_composited_on_white() -> None:
    img = Image.new("LA", (2, 1))
    img.putpixel((0, 0), (0, 0))  # black, fully transparent
    img.putpixel((1, 0), (50, 255))  # dark grey, opaque
    assert load_image(encode(img, "PNG")).tolist() == [[[255, 255, 255], [50, 50, 50]]]


@pytest.mark.parametrize(("mode", "colour"), [("L", 7), ("RGB", (1, 2, 3))])
def test_png_transparent_colour_is_composited_on_white(mode: str, colour: Any) -> None:
    # A tRNS chunk on a grey or RGB PNG (no alpha channel) used to be ignored: the pixel kept its colour.
    img = Image.new(mode, (2, 1), colour)
    img.putpixel((1, 0), 90 if mode == "L" else (90, 90, 90))
    data = encode(img, "PNG", transparency=colour)
    assert Image.open(io.BytesIO(data)).info["transparency"] == colour
    assert load_image(data).tolist() == [[[255, 255, 255], [90, 90, 90]]]


def test_cmyk_jpeg() -> None:
    img = Image.new("CMYK", (16, 8), (0, 0, 0, 0))  # white
    img.paste((0, 255, 255, 0), (8, 0, 16, 8))  # red
    data = encode(img, "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    out = load_image(data)
    check_rgb(out, (8, 16))
    np.testing.assert_allclose(out[4, 2], WHITE, atol=3)
    np.testing.assert_allclose(out[4, 13], RED, atol=3)


def test_pil_float_and_int32_modes() -> None:
    assert load_image(Image.new("F", (2, 2), 0.5))[0, 0].tolist() == [128, 128, 128]
    assert load_image(Image.new("I", (2, 2), 65535))[0, 0].tolist() == [255, 255, 255]
    assert load_image(Image.new("I", (2, 2), 77))[0, 0].tolist() == [77, 77, 77]  # 8-bit data held in 32 bits


def test_float_tiff_file_with_0_255_values() -> None:
    # A float image file (mode F) saved from 0-255 data is read as brightness, not refused as a bad array.
    assert load_image(encode(Image.new("F", (2, 2), 200.0), "TIFF"))[0, 0].tolist() == [200, 200, 200]
    with pytest.raises(UnsupportedImageError, match=r"floating-point image .* save it as an 8- or 16-bit image$"):
        load_image(encode(Image.new("F", (2, 2), 1000.0), "TIFF"))


# --- input types --------------------------------------------------------------------------------------------


def _as_path_str(p: Path) -> Any:
    return str(p)


INPUTS: list[tuple[str, Callable[[Path], Any]]] = [
    ("str", _as_path_str),
    ("Path", lambda p: p),
    ("bytes", lambda p: p.read_bytes()),
    ("bytearray", lambda p: bytearray(p.read_bytes())),
    ("memoryview", lambda p: memoryview(p.read_bytes())),
    ("PIL", lambda p: Image.open(p)),
]


@pytest.mark.parametrize("make", [m for _, m in INPUTS], ids=[n for n, _ in INPUTS])
def test_encoded_input_types(tmp_path: Path, make: Callable[[Path], Any]) -> None:
    path = tmp_path / "pattern.png"
    Image.fromarray(PATTERN).save(path)
    out = load_image(make(path))
    check_rgb(out, (2, 3))
    np.testing.assert_array_equal(out, PATTERN)


GREY = np.array([[0, 128], [200, 255]], dtype=np.uint8)
GREY_RGB = np.repeat(GREY[..., None], 3, axis=2)
ARRAYS: list[tuple[str, np.ndarray, np.ndarray]] = [
    ("uint8 HxW", GREY, GREY_RGB),
    ("uint8 HxWx1", GREY[..., None], GREY_RGB),
    ("uint8 HxWx3", PATTERN, PATTERN),
    ("uint8 HxWx3 non-contiguous", np.ascontiguousarray(PATTERN[..., ::-1])[..., ::-1], PATTERN),
    ("uint8 HxWx4", np.dstack([PATTERN, np.full((2, 3), 255, np.uint8)]), PATTERN),
    ("uint8 HxWx4 transparent", np.dstack([PATTERN, np.zeros((2, 3), np.uint8)]), np.full((2, 3, 3), 255, np.uint8)),
    ("uint16", PATTERN.astype(np.uint16) * 257, PATTERN),
    ("uint16 big-endian", (PATTERN.astype(np.uint16) * 257).astype(">u2"), PATTERN),
    ("float64 [0, 1]", PATTERN / 255.0, PATTERN),
    ("float32 [0, 1]", (PATTERN / 255.0).astype(np.float32), PATTERN),
    ("float HxW", GREY / 255.0, GREY_RGB),
]


@pytest.mark.parametrize(("arr", "expected"), [a[1:] for a in ARRAYS], ids=[a[0] for a in ARRAYS])
def test_numpy_input_types(arr: np.ndarray, expected: np.ndarray) -> None:
    out = load_image(arr)
    check_rgb(out, expected.shape[:2])
    np.testing.assert_array_equal(out, expected)


def test_contiguous_rgb_uint8_array_is_not_copied() -> None:
    arr = PATTERN.copy()
    assert load_image(arr) is arr


def test_upright_rgb_photo_is_decoded_without_a_full_size_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pillow holds RGB in 4 bytes a pixel: a no-op EXIF step and a no-op RGB conversion each copied the whole
    # photo, so decoding an 8000x6000 JPEG peaked at 900 MB (the web app decodes on several threads at once).
    data = encode(noise_image(), "JPEG")
    pil = Image.open(io.BytesIO(data))

    def no_copy(self: Image.Image) -> Image.Image:
        raise AssertionError("the decoded image was copied")

    monkeypatch.setattr(Image.Image, "copy", no_copy)
    check_rgb(load_image(data), (240, 320))
    check_rgb(load_image(pil), (240, 320))
    assert pil.mode == "RGB" and pil.size == (320, 240)  # the caller's image is left as it was


# --- bad inputs ---------------------------------------------------------------------------------------------


def test_missing_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.jpg"
    with pytest.raises(FileNotFoundError, match=f"^image file {re.escape(str(path))} does not exist; check the path$"):
        load_image(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_image(str(path))


def test_huge_file_that_is_not_an_image_is_refused_without_reading_it(tmp_path: Path) -> None:
    # The whole file was read into memory first: a mis-named video or disk image (or /dev/zero) took all the
    # memory, and the CLI stopped on its MemoryError before the files after it.
    path = tmp_path / "video.jpg"
    with open(path, "wb") as fh:
        fh.truncate(256 * 1024 * 1024)  # sparse: costs no disk
    tracemalloc.start()
    try:
        with pytest.raises(ImageDecodeError, match=f"^{re.escape(str(path))} is not an image"):
            load_image(path)
        peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    assert peak_mib < 16


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files in /proc")
def test_image_file_is_closed_after_decoding(tmp_path: Path) -> None:
    path = tmp_path / "frames.gif"  # multi-frame: Pillow keeps the file of such an image open to seek frames
    frames = [Image.new("RGB", (4, 4), RED), Image.new("RGB", (4, 4), BLUE)]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    before = len(os.listdir("/proc/self/fd"))
    decoded = [load_image(path) for _ in range(20)]
    assert len(os.listdir("/proc/self/fd")) == before
    assert all(image[0, 0].tolist() == list(RED) for image in decoded)


def test_directory(tmp_path: Path) -> None:
    expected = f"^{re.escape(str(tmp_path))} is a directory, not an image file; pass the path of an image file$"
    with pytest.raises(UnsupportedImageError, match=expected):
        load_image(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageDecodeError, match=f"^{re.escape(str(path))} is empty \\(0 bytes\\); pass a complete"):
        load_image(path)


@pytest.mark.parametrize("empty", [b"", bytearray(), memoryview(b"")], ids=["bytes", "bytearray", "memoryview"])
def test_empty_bytes(empty: Any) -> None:
    with pytest.raises(ImageDecodeError, match=r"^<0 bytes> is empty; pass the bytes of a complete image file$"):
        load_image(empty)


def test_truncated_images_are_refused() -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # a half image must not pass as a photo
    for fmt in ("JPEG", "PNG"):
        data = encode(noise_image(), fmt)
        half = data[: len(data) // 2]
        expected = (
            rf"^<{len(half)} bytes> is truncated or corrupt \(image file is truncated.*\); re-export or re-upload"
        )
        with pytest.raises(ImageDecodeError, match=expected):
            load_image(half)


def test_lazily_opened_truncated_pil_image() -> None:
    data = encode(noise_image(), "PNG")
    img = Image.open(io.BytesIO(data[: len(data) // 2]))  # the header reads fine; the pixels are missing
    with pytest.raises(ImageDecodeError, match=r"^<PIL image> is truncated or corrupt \(image file is truncated\)"):
        load_image(img)


def test_corrupt_jpeg_header() -> None:
    data = bytearray(encode(noise_image(64, 64), "JPEG"))
    assert data[20:22] == b"\xff\xdb"  # the quantisation table (DQT) segment starts here
    data[20:60] = bytes(40)
    with pytest.raises(ImageDecodeError, match=rf"^<{len(data)} bytes> is truncated or corrupt \(.+\); re-export"):
        load_image(bytes(data))


NOT_IMAGES: list[tuple[str, bytes]] = [
    ("random", np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()),
    ("text", b"plate,make\nAB12CDE,Ford\n"),
    ("pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"),
    ("jpeg magic broken", b"\xff\xff\xff\xff" + encode(noise_image(16, 16), "JPEG")[4:]),
]


@pytest.mark.parametrize("data", [d for _, d in NOT_IMAGES], ids=[n for n, _ in NOT_IMAGES])
def test_not_an_image(data: bytes) -> None:
    expected = f"<{len(data)} bytes> is not an image (format not recognised); pass a {SUPPORTED} file"
    with pytest.raises(ImageDecodeError, match=f"^{re.escape(expected)}$"):
        load_image(data)


def test_text_file_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("this is not a photo\n")
    with pytest.raises(ImageDecodeError, match=f"^{re.escape(str(path))} is not an image \\(format not recognised\\)"):
        load_image(path)


@pytest.mark.parametrize(("fmt", "article"), [("ICO", "an"), ("PPM", "a"), ("TGA", "a"), ("PCX", "a")])
def test_formats_pillow_reads_but_we_do_not(tmp_path: Path, fmt: str, article: str) -> None:
    data = encode(Image.new("RGB", (16, 16), RED), fmt)
    expected = f"<{len(data)} bytes> is {article} {fmt} image, which is not supported; convert it to {SUPPORTED}"
    with pytest.raises(UnsupportedImageError, match=f"^{re.escape(expected)}$"):
        load_image(data)
    path = tmp_path / f"photo.{fmt.lower()}"
    path.write_bytes(data)
    with pytest.raises(UnsupportedImageError, match=f"^{re.escape(str(path))} is {article} {fmt} image"):
        load_image(path)


def test_decompression_bomb_is_refused_from_its_header(pil_limit: int) -> None:
    data = png_claiming(30_000, 30_000)  # 900 million pixels in 67 bytes
    assert len(data) < 100
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    expected = (
        f"<{len(data)} bytes> has more than {2 * pil_limit:,} pixels, over the limit of 50,000,000; resize it first"
    )
    with pytest.raises(ImageTooLargeError, match=f"^{re.escape(expected)}$"):
        load_image(data)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 100  # decoding it would take 900 MiB


def test_large_header_between_pillow_limits_gets_our_message(pil_limit: int) -> None:
    data = png_claiming(12_000, 10_000)  # over Pillow's warning limit, under its error limit
    expected = f"<{len(data)} bytes> is 12000x10000 = 120,000,000 pixels, over the limit of 50,000,000; resize it first"
    with (
        pytest.warns(Image.DecompressionBombWarning),
        pytest.raises(ImageTooLargeError, match=f"^{re.escape(expected)}$"),
    ):
        load_image(data)


def test_bomb_warning_turned_into_an_error_is_still_too_large(pil_limit: int) -> None:
    data = png_claiming(12_000, 10_000)
    expected = f"<{len(data)} bytes> has more than {pil_limit:,} pixels, over the limit of 1,000; resize it first"
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with pytest.raises(ImageTooLargeError, match=f"^{re.escape(expected)}$"):
            load_image(data, max_pixels=1000)


def test_max_pixels_on_encoded_image() -> None:
    data = encode(Image.new("RGB", (40, 30)), "PNG")
    expected = f"<{len(data)} bytes> is 40x30 = 1,200 pixels, over the limit of 1,000; resize it first"
    with pytest.raises(ImageTooLargeError, match=f"^{re.escape(expected)}$"):
        load_image(data, max_pixels=1000)
    assert load_image(data, max_pixels=1200).shape == (30, 40, 3)


def test_max_pixels_on_array_and_pil_image() -> None:
    arr = np.zeros((100, 100, 3), np.uint8)
    with pytest.raises(
        ImageTooLargeError, match=r"^<numpy array> is 100x100 = 10,000 pixels, over the limit of 9,999;"
    ):
        load_image(arr, max_pixels=9_999)
    with pytest.raises(ImageTooLargeError, match=r"^<PIL image> is 100x100 = 10,000 pixels, over the limit of 9,999;"):
        load_image(Image.fromarray(arr), max_pixels=9_999)
    assert load_image(arr, max_pixels=10_000).shape == (100, 100, 3)


@pytest.mark.parametrize(
    "shape", [(4, 4, 2), (1, 4, 4, 3), (12,), (), (4, 4, 5)], ids=["HxWx2", "4-D", "1-D", "0-D", "HxWx5"]
)
def test_array_with_bad_shape(shape: tuple[int, ...]) -> None:
    expected = f"<numpy array> has shape {shape}; pass HxW (gray), HxWx1, HxWx3 (RGB) or HxWx4 (RGBA)"
    with pytest.raises(UnsupportedImageError, match=f"^{re.escape(expected)}$"):
        load_image(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "bool", "complex128", "object", "uint32"])
def test_array_with_bad_dtype(dtype: str) -> None:
    expected = f"<numpy array> has dtype {dtype}; pass uint8 (0-255), uint16 (0-65535) or float (0-1)"
    with pytest.raises(UnsupportedImageError, match=f"^{re.escape(expected)}$"):
        load_image(np.zeros((4, 4, 3), dtype=dtype))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_array_with_non_finite_floats(bad: float) -> None:
    arr = np.full((4, 4, 3), 0.5)
    arr[1, 2, 0] = bad
    expected = "<numpy array> contains NaN or infinite values; replace them (e.g. np.nan_to_num) first"
    with pytest.raises(ImageDecodeError, match=f"^{re.escape(expected)}$"):
        load_image(arr)


def test_float_array_outside_0_1_is_refused() -> None:
    # A 0-255 float image used to be clipped to [0, 1] silently: a white picture and no plates.
    expected = (
        "<numpy array> is float with values from 0 to 200; float images must be in [0, 1] "
        "(divide 0-255 data by 255, or pass uint8)"
    )
    with pytest.raises(ImageDecodeError, match=f"^{re.escape(expected)}$"):
        load_image(np.array([[0.0, 200.0]]))
    with pytest.raises(ImageDecodeError, match=r"^<numpy array> is float with values from -0\.5 to 1;"):
        load_image(np.array([[-0.5, 1.0]]))
    # Rounding noise just outside [0, 1] is clipped, not refused.
    assert load_image(np.array([[-1e-6, 1.0 + 1e-6]]))[0, :, 0].tolist() == [0, 255]


@pytest.mark.parametrize("shape", [(0, 5, 3), (5, 0), (0, 0, 4)], ids=str)
def test_zero_size_array(shape: tuple[int, ...]) -> None:
    h, w = shape[:2]
    expected = f"<numpy array> has no pixels ({w}x{h}); pass a non-empty image"
    with pytest.raises(ImageDecodeError, match=f"^{re.escape(expected)}$"):
        load_image(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("source", [42, {"path": "x.jpg"}, None, [[0, 0, 0]], 1.5], ids=lambda s: type(s).__name__)
def test_unsupported_input_type(source: Any) -> None:
    expected = f"cannot read an image from {type(source).__name__}; pass a path, bytes, a numpy array or a PIL image"
    with pytest.raises(UnsupportedImageError, match=f"^{re.escape(expected)}$"):
        load_image(source)
