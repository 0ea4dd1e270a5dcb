"""PASCAL VOC import: the Kaggle car-plate set in its original layout, the original CSV, and malformed XML."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PIL import Image

from numberplate.datasets.labels import LabelledBox, LabelledImage, count_boxes
from numberplate.datasets.voc import (
    ORIGINAL_COLUMNS,
    _natural_key,
    import_voc,
    parse_voc,
    resolve_voc_dirs,
    write_voc_csv,
)
from numberplate.errors import DatasetError
from numberplate.types import BoundingBox


@pytest.fixture(scope="module")
def kaggle_dir(data_dir: Path) -> Path:
    return data_dir / "voc" / "kaggle-car-plate"


@pytest.fixture(scope="module")
def kaggle(kaggle_dir: Path) -> list[LabelledImage]:
    return import_voc(kaggle_dir)


def test_imports_all_433_kaggle_annotations(kaggle: list[LabelledImage], kaggle_dir: Path) -> None:
    assert len(kaggle) == 433
    assert count_boxes(kaggle) == 471
    assert [r.image.name for r in kaggle[:3]] == ["Cars0.jpg", "Cars1.jpg", "Cars2.jpg"]  # natural order
    assert all(r.image.parent == kaggle_dir / "images" and r.image.is_file() for r in kaggle)
    assert {b.name for r in kaggle for b in r.boxes} == {"licence"}
    assert {(r.source, r.split) for r in kaggle} == {("voc", "train")}


def test_cars0_record(kaggle: list[LabelledImage], kaggle_dir: Path) -> None:
    assert kaggle[0] == LabelledImage(
        kaggle_dir / "images" / "Cars0.jpg", 500, 268, (LabelledBox(BoundingBox(226, 125, 419, 173), "licence"),),
        "voc", "train",
    )


def test_annotations_folder_itself_gives_the_same_records(kaggle: list[LabelledImage], kaggle_dir: Path) -> None:
    assert import_voc(kaggle_dir / "annotations") == kaggle
    assert resolve_voc_dirs(kaggle_dir) == (kaggle_dir / "annotations", kaggle_dir / "images")


def test_matches_the_kaggle_rows_of_the_detect_labels(kaggle: list[LabelledImage], data_dir: Path,
                                                      detect_rows: list[dict[str, str]]) -> None:
    expected: dict[str, list[tuple[float, ...]]] = {}
    for row in detect_rows:
        if row["source"] == "kaggle":
            expected.setdefault(row["image"], []).append(
                tuple(float(row[k]) for k in ("width", "height", "xmin", "ymin", "xmax", "ymax"))
            )
    got = {
        r.image.relative_to(data_dir).as_posix(): [(r.width, r.height, b.box.xmin, b.box.ymin, b.box.xmax, b.box.ymax)
                                                   for b in r.boxes]
        for r in kaggle
    }
    assert len(got) == len(expected) == 433
    assert {k: sorted(v) for k, v in got.items()} == {k: sorted(v) for k, v in expected.items()}


def test_original_csv_columns_and_rows(kaggle: list[LabelledImage], kaggle_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "plates.csv"
    write_voc_csv(kaggle, out)
    with open(out, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["filepath", "xmin", "xmax", "ymin", "ymax"] == list(ORIGINAL_COLUMNS)
    assert len(rows) == 1 + 471
    assert rows[1] == [(kaggle_dir / "images" / "Cars0.jpg").as_posix(), "226", "419", "125", "173"]


def test_original_csv_skips_background_and_keeps_fractions(tmp_path: Path) -> None:
    records = [
        LabelledImage(Path("img/a.jpg"), 10, 10, (LabelledBox(BoundingBox(1.25, 2, 3.5, 4.125)),)),
        LabelledImage(Path("img/b.jpg"), 10, 10),
    ]
    out = tmp_path / "o.csv"
    write_voc_csv(records, out)
    assert out.read_text().splitlines() == ["filepath,xmin,xmax,ymin,ymax", "img/a.jpg,1.25,3.5,2,4.12"]


# --- malformed input -------------------------------------------------------------------------------------------

OBJECT = "<object><name>plate</name><bndbox>{}</bndbox></object>"
GOOD_BOX = "<xmin>1</xmin><ymin>2</ymin><xmax>30</xmax><ymax>20</ymax>"


@pytest.fixture
def voc(tmp_path: Path) -> Path:
    """A VOC folder with one real 64x48 JPEG and an empty annotations folder."""
    (tmp_path / "annotations").mkdir()
    (tmp_path / "images").mkdir()
    Image.new("RGB", (64, 48), (90, 120, 150)).save(tmp_path / "images" / "a.jpg")
    return tmp_path


def _xml(voc: Path, body: str, name: str = "a.xml", size: str = "<size><width>64</width><height>48</height></size>",
         filename: str = "<filename>a.jpg</filename>") -> Path:
    path = voc / "annotations" / name
    path.write_text(f"<annotation><folder>images</folder>{filename}{size}{body}</annotation>", encoding="utf-8")
    return path


def test_parses_a_minimal_file(voc: Path) -> None:
    path = _xml(voc, OBJECT.format(GOOD_BOX) + "<object><bndbox>" + GOOD_BOX + "</bndbox></object>")
    r = parse_voc(path, voc / "images")
    assert r == LabelledImage(voc / "images" / "a.jpg", 64, 48,
                              (LabelledBox(BoundingBox(1, 2, 30, 20), "plate"), LabelledBox(BoundingBox(1, 2, 30, 20))))


def test_no_objects_is_a_background_image(voc: Path) -> None:
    r = parse_voc(_xml(voc, ""), voc / "images")
    assert r.boxes == () and (r.width, r.height) == (64, 48)


@pytest.mark.parametrize("size", ["", "<size><width>0</width><height>0</height><depth>3</depth></size>"])
def test_missing_or_zero_size_is_read_from_the_image(voc: Path, size: str) -> None:
    r = parse_voc(_xml(voc, OBJECT.format(GOOD_BOX), size=size), voc / "images")
    assert (r.width, r.height) == (64, 48)


def test_images_folder_can_be_given(voc: Path, tmp_path: Path) -> None:
    _xml(voc, OBJECT.format(GOOD_BOX))
    other = tmp_path / "other"
    (voc / "images").rename(other)
    records = import_voc(voc, images_dir=other)
    assert [r.image for r in records] == [other / "a.jpg"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<annotation><filename>a.jpg</filename></annotatio>",
         "not well-formed XML (mismatched tag: line 1, column 40); fix or remove the file"),
        (b"", "not well-formed XML (no element found: line 1, column 0); fix or remove the file"),
        (b"<annotation><filename>&x;</filename></annotation>",
         "not well-formed XML (undefined entity: line 1, column 22); fix or remove the file"),
        (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><annotation><filename>&x;</filename></annotation>',
         "DOCTYPE and ENTITY declarations are not allowed; remove them, VOC annotations never need them"),
        (b'<!DOCTYPE a [<!ENTITY a "1"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><annotation>&b;</annotation>',
         "DOCTYPE and ENTITY declarations are not allowed; remove them, VOC annotations never need them"),
        (b'<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><annotation>&e;</annotation>',
         "DOCTYPE and ENTITY declarations are not allowed; remove them, VOC annotations never need them"),
        (b'<!DOCTYPE annotation SYSTEM "http://example.com/voc.dtd"><annotation/>',
         "DOCTYPE and ENTITY declarations are not allowed; remove them, VOC annotations never need them"),
        ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY x "y">]><annotation/>'.encode("utf-16"),
         "DOCTYPE and ENTITY declarations are not allowed; remove them, VOC annotations never need them"),
        (b"<root><filename>a.jpg</filename></root>",
         "root element is <root>, expected <annotation>; is this a VOC file?"),
        (b"<annotation><size/></annotation>", "<filename> is missing or empty; it must name the image"),
        (b"<annotation><filename>  </filename></annotation>", "<filename> is missing or empty; it must name the image"),
    ],
)
def test_malformed_xml(voc: Path, data: bytes, message: str) -> None:
    path = voc / "annotations" / "bad.xml"
    path.write_bytes(data)
    with pytest.raises(DatasetError) as info:
        parse_voc(path, voc / "images")
    assert str(info.value) == f"{path}: {message}"


@pytest.mark.parametrize("filename", ["../a.jpg", "/etc/passwd", "sub/../../a.jpg", "C:\\images\\a.jpg", "..\\a.jpg"])
def test_filename_must_stay_inside_the_images_folder(voc: Path, filename: str) -> None:
    path = _xml(voc, "", filename=f"<filename>{filename}</filename>")
    with pytest.raises(DatasetError) as info:
        parse_voc(path, voc / "images")
    assert str(info.value) == f"{path}: <filename> {filename!r} must be a path inside the images folder"


def test_missing_image(voc: Path) -> None:
    path = _xml(voc, "", filename="<filename>b.jpg</filename>")
    with pytest.raises(DatasetError) as info:
        parse_voc(path, voc / "images")
    assert str(info.value) == (
        f"{path}: image {voc / 'images' / 'b.jpg'} named by <filename> does not exist; pass the images folder"
    )


def test_missing_size_and_unreadable_image(voc: Path) -> None:
    (voc / "images" / "c.jpg").write_bytes(b"not a jpeg")
    path = _xml(voc, "", size="", filename="<filename>c.jpg</filename>")
    with pytest.raises(DatasetError) as info:
        parse_voc(path, voc / "images")
    image = voc / "images" / "c.jpg"
    assert str(info.value).startswith(f"{path}: has no <size> and its image {image} cannot be read (")


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ("<size><width>wide</width><height>48</height></size>", "<size><width> is not a number: 'wide'"),
        ("<size><width>64</width><height>-48</height></size>",
         "<size><height> must be a positive whole number of pixels, got '-48'"),
        ("<size><width>64.5</width><height>48</height></size>",
         "<size><width> must be a positive whole number of pixels, got '64.5'"),
    ],
)
def test_bad_size(voc: Path, size: str, message: str) -> None:
    path = _xml(voc, "", size=size)
    with pytest.raises(DatasetError) as info:
        parse_voc(path, voc / "images")
    assert str(info.value) == f"{path}: {message}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<object><name>plate</name></object>", "<bndbox> is missing"),
        (OBJECT.format("<ymin>2</ymin><xmax>30</xmax><ymax>20</ymax>"),
         "<bndbox><xmin> is missing; every box needs xmin, ymin, xmax and ymax"),
        (OBJECT.format("<xmin>1</xmin><ymin>2</ymin><xmax>30</xmax><ymax> </ymax>"),
         "<bndbox><ymax> is missing; every box needs xmin, ymin, xmax and ymax"),
        (OBJECT.format("<xmin>1</xmin><ymin>two</ymin><xmax>30</xmax><ymax>20</ymax>"),
         "<bndbox><ymin> is not a number: 'two'"),
        (OBJECT.format("<xmin>1</xmin><ymin>2</ymin><xmax>nan</xmax><ymax>20</ymax>"),
         "<bndbox><xmax> is not a finite number: 'nan'"),
        (OBJECT.format("<xmin>30</xmin><ymin>2</ymin><xmax>30</xmax><ymax>20</ymax>"),
         "xmax (30) must be greater than xmin (30)"),
        (OBJECT.format("<xmin>31.5</xmin><ymin>2</ymin><xmax>30</xmax><ymax>20</ymax>"),
         "xmax (30) must be greater than xmin (31.5)"),
        (OBJECT.format("<xmin>1</xmin><ymin>20</ymin><xmax>30</xmax><ymax>2</ymax>"),
         "ymax (2) must be greater than ymin (20)"),
    ],
)
def test_bad_boxes_name_the_file_and_object(voc: Path, body: str, message: str) -> None:
    path = _xml(voc, OBJECT.format(GOOD_BOX) + body)
    with pytest.raises(DatasetError) as info:
        parse_voc(path, voc / "images")
    assert str(info.value) == f"{path} (object 2): {message}"


def test_import_stops_at_the_first_bad_file(voc: Path) -> None:
    _xml(voc, OBJECT.format(GOOD_BOX), name="a.xml")
    bad = voc / "annotations" / "b.xml"
    bad.write_text("<annotation>", encoding="utf-8")
    with pytest.raises(DatasetError) as info:
        import_voc(voc)
    assert str(info.value) == (
        f"{bad}: not well-formed XML (no element found: line 1, column 12); fix or remove the file"
    )


def test_empty_annotations_folder(voc: Path) -> None:
    with pytest.raises(DatasetError) as info:
        import_voc(voc)
    assert str(info.value) == (
        f"{voc / 'annotations'}: no .xml annotation files found; pass the VOC annotations folder"
    )


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as info:
        import_voc(tmp_path / "missing")
    assert str(info.value) == f"{tmp_path / 'missing'}: not a folder; pass a VOC folder or its annotations folder"


def test_file_names_with_superscript_digits_sort_without_error(voc: Path) -> None:
    # "²" is a digit to str.isdigit but not a number to int(): the natural sort used to crash on it.
    for name in ("²1.xml", "a10.xml", "a2.xml"):
        _xml(voc, "", name=name)
    assert len(import_voc(voc)) == 3
    files = [p.name for p in sorted((voc / "annotations").glob("*.xml"), key=_natural_key)]
    assert files.index("a2.xml") < files.index("a10.xml")


def test_boxes_reaching_outside_the_image_are_clipped_with_a_warning(voc: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    outside = "<xmin>10</xmin><ymin>-5</ymin><xmax>5000</xmax><ymax>20</ymax>"
    path = _xml(voc, OBJECT.format(outside) + OBJECT.format(GOOD_BOX))
    (record,) = import_voc(voc)
    assert [b.box for b in record.boxes] == [BoundingBox(10, 0, 64, 20), BoundingBox(1, 2, 30, 20)]
    assert f"{voc / 'annotations'}: clipped 1 box(es) that reached outside their image to it (in a.xml)" in caplog.text
    assert parse_voc(path, voc / "images").boxes == record.boxes
    # A box wholly outside is no plate of this image: refused, as to-yolo refuses it.
    _xml(voc, OBJECT.format("<xmin>100</xmin><ymin>2</ymin><xmax>130</xmax><ymax>20</ymax>"))
    with pytest.raises(DatasetError, match=r"a\.xml \(object 1\): box .* lies outside the 64x48 image; fix or drop"):
        import_voc(voc)


def test_an_implausible_size_is_refused(voc: Path) -> None:
    path = _xml(voc, OBJECT.format(GOOD_BOX), size="<size><width>1e30</width><height>48</height></size>")
    with pytest.raises(DatasetError, match=r"<size><width> 1e30 is not a plausible image size \(at most 65535"):
        parse_voc(path, voc / "images")
