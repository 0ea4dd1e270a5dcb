"""YOLO label files: box conversion, a labels.csv -> YOLO -> records round trip on real images, bad labels."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from numberplate.datasets.labels import LabelledBox, LabelledImage, read_labels
from numberplate.datasets.yolo import (
    box_to_yolo,
    image_size,
    parse_yolo_line,
    read_classes,
    read_yolo,
    read_yolo_file,
    write_yolo,
    yolo_to_box,
)
from numberplate.errors import DatasetError
from numberplate.types import BoundingBox


def _coords(box: BoundingBox) -> tuple[float, float, float, float]:
    return box.xmin, box.ymin, box.xmax, box.ymax


def _close(a: LabelledImage, b: LabelledImage, tol: float = 0.5) -> bool:
    if (a.width, a.height, len(a.boxes)) != (b.width, b.height, len(b.boxes)):
        return False
    return all(
        x.name == y.name
        and max(abs(p - q) for p, q in zip(_coords(x.box), _coords(y.box), strict=True)) <= tol
        for x, y in zip(a.boxes, b.boxes, strict=True)
    )


@pytest.fixture(scope="module")
def subset(data_dir: Path) -> list[LabelledImage]:
    """Val images from every source, with several-plate and background images among them."""
    records = read_labels(data_dir / "detect" / "labels.csv", split="val")
    chosen: list[LabelledImage] = [r for r in records if len(r.boxes) > 1][:5]
    for source in sorted({r.image.parts[-2] for r in records}):
        chosen += [r for r in records if r.image.parts[-2] == source and r not in chosen][:6]
    return chosen


def test_box_conversion_is_inverse() -> None:
    box = BoundingBox(10, 20, 110, 60)
    cx, cy, w, h = box_to_yolo(box, 200, 100)
    assert (cx, cy, w, h) == pytest.approx((0.3, 0.4, 0.5, 0.4))
    assert _coords(yolo_to_box(cx, cy, w, h, 200, 100)) == pytest.approx(_coords(box))


def test_boxes_are_clipped_to_the_image() -> None:
    assert box_to_yolo(BoundingBox(-10, 0, 50, 120), 100, 100) == (0.25, 0.5, 0.5, 1.0)


def test_round_trip_through_yolo_within_half_a_pixel(subset: list[LabelledImage], data_dir: Path,
                                                     tmp_path: Path) -> None:
    assert any(not r.boxes for r in subset) and any(len(r.boxes) > 1 for r in subset)
    written = write_yolo(subset, tmp_path / "yolo")
    assert len(written) == len(subset) and all(p.suffix == ".txt" for p in written)
    assert (tmp_path / "yolo" / "classes.txt").read_text() == "plate\n"
    # paths mirror the images below their common folder, so sources with the same file names do not clash
    assert written[0].relative_to(tmp_path / "yolo").with_suffix("") == subset[0].image.relative_to(
        data_dir
    ).with_suffix("")

    back = read_yolo(tmp_path / "yolo", data_dir, source="s", split="val")
    assert len(back) == len(subset)
    by_image = {r.image: r for r in back}
    for original in subset:
        again = by_image[original.image]
        assert _close(original, again), (original, again)
        assert (again.source, again.split) == ("s", "val")


def test_background_images_get_an_empty_file(subset: list[LabelledImage], tmp_path: Path) -> None:
    background = next(r for r in subset if not r.boxes)
    [path] = write_yolo([background], tmp_path)
    assert path == tmp_path / background.image.with_suffix(".txt").name
    assert path.read_text() == ""


def test_label_lines_and_class_ids(tmp_path: Path) -> None:
    record = LabelledImage(tmp_path / "a.jpg", 200, 100, (
        LabelledBox(BoundingBox(10, 20, 110, 60), "plate"), LabelledBox(BoundingBox(0, 0, 20, 10), "car"),
    ))
    [path] = write_yolo([record], tmp_path / "out")
    assert (tmp_path / "out" / "classes.txt").read_text() == "car\nplate\n"
    assert path.read_text() == "1 0.300000 0.400000 0.500000 0.400000\n0 0.050000 0.050000 0.100000 0.100000\n"
    back = read_yolo_file(path, 200, 100, ["car", "plate"])
    assert [b.name for b in back] == ["plate", "car"]
    assert [_coords(b.box) for b in back] == [pytest.approx(_coords(b.box)) for b in record.boxes]


def test_write_errors(tmp_path: Path) -> None:
    a = LabelledImage(tmp_path / "a.jpg", 100, 100, (LabelledBox(BoundingBox(1, 1, 5, 5), "car"),))
    with pytest.raises(DatasetError) as info:
        write_yolo([a], tmp_path / "o", classes=["plate"])
    assert str(info.value) == f"{a.image}: class 'car' is not one of ['plate']"

    twice = LabelledImage(a.image, 100, 100, (), split="val")
    with pytest.raises(DatasetError) as info:
        write_yolo([LabelledImage(a.image, 100, 100, ()), twice], tmp_path / "o")
    assert str(info.value) == (
        f"{a.image}: listed twice (splits val and another) and would get one label file; convert one split at a time"
    )

    outside = LabelledImage(a.image, 100, 100, (LabelledBox(BoundingBox(120, 10, 150, 20)),))
    with pytest.raises(DatasetError) as info:
        write_yolo([outside], tmp_path / "o")
    assert str(info.value) == (
        f"{a.image}: box {{'xmin': 120, 'ymin': 10, 'xmax': 150, 'ymax': 20}} lies outside the 100x100 image"
    )


def test_no_classes_file_uses_the_class_id(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    Image.new("RGB", (40, 20)).save(tmp_path / "img" / "x.png")
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "x.txt").write_text("\n2 0.5 0.5 0.5 0.5\n\n")
    [r] = read_yolo(tmp_path / "lab", tmp_path / "img")
    assert r == LabelledImage(tmp_path / "img" / "x.png", 40, 20, (LabelledBox(BoundingBox(10, 5, 30, 15), "2"),),
                              "yolo", "train")


@pytest.fixture
def linked(tmp_path: Path, data_dir: Path) -> Path:
    """Two real images with the same file name in two folders (links, nothing copied), and a labels folder."""
    images = data_dir / "detect" / "images"
    for source in ("openlpr", "tunisia"):
        (tmp_path / "images" / source).mkdir(parents=True)
        (tmp_path / "images" / source / "10.jpg").symlink_to(images / source / "10.jpg")
    (tmp_path / "images" / "openlpr" / "11.jpg").symlink_to(images / "openlpr" / "11.jpg")
    (tmp_path / "labels").mkdir()
    return tmp_path


def test_images_found_by_unique_stem_anywhere(linked: Path) -> None:
    (linked / "labels" / "11.txt").write_text("0 0.5 0.5 0.2 0.1\n")
    [r] = read_yolo(linked / "labels", linked / "images")
    assert r.image == linked / "images" / "openlpr" / "11.jpg"
    assert (r.width, r.height) == Image.open(r.image).size


def test_ambiguous_and_missing_images(linked: Path) -> None:
    label = linked / "labels" / "10.txt"
    label.write_text("0 0.5 0.5 0.2 0.1\n")
    images = linked / "images"
    with pytest.raises(DatasetError) as info:
        read_yolo(linked / "labels", images)
    assert str(info.value) == (
        f"{label}: 2 images named 10.* under {images} ({images / 'openlpr' / '10.jpg'}, "
        f"{images / 'tunisia' / '10.jpg'}); point --images at the matching folder"
    )
    assert read_yolo(linked / "labels", images / "tunisia")[0].image == images / "tunisia" / "10.jpg"

    label.rename(linked / "labels" / "99.txt")
    with pytest.raises(DatasetError) as info:
        read_yolo(linked / "labels", images)
    assert str(info.value) == f"{linked / 'labels' / '99.txt'}: no image named 99.* under {images}; check --images"


def test_empty_labels_folder_and_unreadable_image(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as info:
        read_yolo(tmp_path, tmp_path)
    assert str(info.value) == f"{tmp_path}: no .txt label files found; pass the YOLO labels folder"
    fake = tmp_path / "fake.jpg"
    fake.write_bytes(b"not an image")
    with pytest.raises(DatasetError, match=r"fake\.jpg: cannot read image size \(cannot identify image file"):
        image_size(fake)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("0 0.5 0.5 0.2", "expected 5 fields 'class cx cy w h', got 4: '0 0.5 0.5 0.2'"),
        ("0 0.5 0.5 0.2 0.1 0.9", "expected 5 fields 'class cx cy w h', got 6: '0 0.5 0.5 0.2 0.1 0.9'"),
        ("plate 0.5 0.5 0.2 0.1", "class must be a whole number, got 'plate'"),
        ("0.0 0.5 0.5 0.2 0.1", "class must be a whole number, got '0.0'"),
        ("-1 0.5 0.5 0.2 0.1", "class -1 is not in classes.txt (1 classes)"),
        ("1 0.5 0.5 0.2 0.1", "class 1 is not in classes.txt (1 classes)"),
        ("0 0.5 half 0.2 0.1", "cy is not a number: 'half'"),
        ("0 0.5 0.5 1.2 0.1", "w = 1.2 is outside [0, 1]; YOLO coordinates are normalised"),
        ("0 -0.5 0.5 0.2 0.1", "cx = -0.5 is outside [0, 1]; YOLO coordinates are normalised"),
        ("0 0.5 0.5 0.2 nan", "h = nan is outside [0, 1]; YOLO coordinates are normalised"),
        ("0 0.5 0.5 0 0.1", "xmax (50) must be greater than xmin (50)"),
        ("0 0.5 0.5 0.2 0", "ymax (25) must be greater than ymin (25)"),
    ],
)
def test_malformed_lines(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "x.txt"
    path.write_text(f"0 0.5 0.5 0.2 0.1\n{line}\n")
    with pytest.raises(DatasetError) as info:
        read_yolo_file(path, 100, 50, ["plate"])
    assert str(info.value) == f"{path}:2: {message}"


def test_pixel_coordinates_are_accepted_a_hair_outside_the_image() -> None:
    b = parse_yolo_line("0 0.5 0.5 1.0004 0.2", 100, 50, (), "x")
    assert b.box.xmin == pytest.approx(-0.02) and b.name == "0"


def test_boxes_reaching_outside_the_image_are_clipped_with_a_warning(tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "img").mkdir()
    Image.new("RGB", (600, 450)).save(tmp_path / "img" / "x.png")
    (tmp_path / "lab").mkdir()
    # cx 0.99 with w 0.2: xmax would be 654 px in a 600 px image; the second box is a hair out (rounding).
    (tmp_path / "lab" / "x.txt").write_text("0 0.99 0.5 0.2 0.1\n0 0.5 0.5 1.0004 0.2\n")
    [r] = read_yolo(tmp_path / "lab", tmp_path / "img")
    assert [_coords(b.box) for b in r.boxes] == [pytest.approx((534, 202.5, 600, 247.5)),
                                                 pytest.approx((0, 180, 600, 270))]
    assert f"{tmp_path / 'lab'}: clipped 1 box(es) that reached outside their image to it (in x.txt)" in caplog.text
    (tmp_path / "lab" / "x.txt").write_text("0 1.0009 0.5 0.001 0.1\n")  # right of the image, within rounding
    with pytest.raises(DatasetError, match=r"x\.txt:1: box .* lies outside the 600x450 image"):
        read_yolo_file(tmp_path / "lab" / "x.txt", 600, 450)


def test_a_classes_file_that_is_not_utf8_is_a_dataset_error(tmp_path: Path) -> None:
    (tmp_path / "classes.txt").write_bytes("plaque d'immatriculation\n".encode("utf-16"))
    with pytest.raises(DatasetError, match=r"classes\.txt: not UTF-8 text .*; save it as UTF-8, one class name per"):
        read_classes(tmp_path)
    (tmp_path / "classes.txt").write_bytes("\ufeffplate\ncar\n".encode())  # a BOM, as Notepad writes
    assert read_classes(tmp_path) == ["plate", "car"]


def test_a_label_file_with_a_byte_order_mark_reads_its_first_line(tmp_path: Path) -> None:
    # Its first class read '\ufeff0': "class must be a whole number".
    path = tmp_path / "x.txt"
    path.write_bytes("\ufeff0 0.5 0.5 0.2 0.1\r\n0 0.25 0.5 0.1 0.1\r\n".encode())
    boxes = read_yolo_file(path, 100, 50, ["plate"])
    assert [_coords(b.box) for b in boxes] == [pytest.approx((40, 22.5, 60, 27.5)), pytest.approx((20, 22.5, 30, 27.5))]


def test_a_photo_turned_by_its_exif_orientation_has_its_turned_size(tmp_path: Path) -> None:
    # YOLO tools, our training and the labels CSV checks see a phone photo turned upright: YOLO coordinates are
    # fractions of that size. The stored size put plates at the wrong place and every box was dropped in training
    # as "labelled for another image size".
    exif = Image.Exif()
    exif[0x0112] = 6  # turned a quarter clockwise
    (tmp_path / "img").mkdir()
    Image.new("RGB", (600, 400)).save(tmp_path / "img" / "x.jpg", exif=exif)
    assert image_size(tmp_path / "img" / "x.jpg") == (400, 600)
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "x.txt").write_text("0 0.5 0.5 0.5 0.1\n")
    [r] = read_yolo(tmp_path / "lab", tmp_path / "img")
    assert (r.width, r.height) == (400, 600) and _coords(r.boxes[0].box) == pytest.approx((100, 270, 300, 330))
