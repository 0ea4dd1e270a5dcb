"""The detect labels CSV: reading the shared file, writing it back unchanged, and every malformed row."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from numberplate.datasets.labels import (
    LABELS_COLUMNS,
    LabelledBox,
    LabelledImage,
    count_boxes,
    default_root,
    parse_box,
    read_csv_rows,
    read_labels,
    write_labels,
)
from numberplate.errors import DatasetError
from numberplate.types import BoundingBox

HEADER = ",".join(LABELS_COLUMNS)


def _csv(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "labels.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_reads_the_shared_val_split_with_the_readme_counts(data_dir: Path, detect_rows: list[dict[str, str]]) -> None:
    records = read_labels(data_dir / "detect" / "labels.csv", split="val")
    # detect/README: val images 507+96+247+107+41+28, boxes 510+96+258+131+41
    assert len(records) == 1026
    assert count_boxes(records) == 1036
    assert {r.split for r in records} == {"val"}
    background = {r["image"] for r in detect_rows if r["split"] == "val" and not r["xmin"]}
    assert {r.image.relative_to(data_dir).as_posix() for r in records if not r.boxes} == background
    assert all(r.image.is_file() for r in records[:50])


def test_merges_rows_of_one_image_and_resolves_against_the_data_root(data_dir: Path) -> None:
    records = read_labels(data_dir / "detect" / "labels.csv", split="val")
    multi = [r for r in records if len(r.boxes) > 1]
    assert multi, "the val split has images with several plates"
    r = multi[0]
    assert r.image.parent.parent.parent == data_dir / "detect"
    assert len({b.box for b in r.boxes}) == len(r.boxes)
    assert all(b.name == "plate" for b in r.boxes)


def test_write_reproduces_the_shared_rows(data_dir: Path, tmp_path: Path, detect_rows: list[dict[str, str]]) -> None:
    records = read_labels(data_dir / "detect" / "labels.csv", split="val")
    out = tmp_path / "val.csv"
    write_labels(records, out, root=data_dir)
    with open(out, newline="") as fh:
        written = list(csv.DictReader(fh))
    original = [r for r in detect_rows if r["split"] == "val"]
    key = [*LABELS_COLUMNS]
    assert sorted(tuple(r[k] for k in key) for r in written) == sorted(tuple(r[k] for k in key) for r in original)


def test_round_trip_keeps_background_and_floats(tmp_path: Path) -> None:
    records = [
        LabelledImage(tmp_path / "a" / "1.jpg", 640, 480, (LabelledBox(BoundingBox(1.5, 2, 30.25, 40)),), "s", "train"),
        LabelledImage(tmp_path / "b" / "2.jpg", 320, 200, (), "s", "val"),
    ]
    out = tmp_path / "labels.csv"
    write_labels(records, out)
    lines = out.read_text().splitlines()
    assert lines == [HEADER, "a/1.jpg,640,480,1.5,2.0,30.2,40.0,s,train", "b/2.jpg,320,200,,,,,s,val"]
    back = read_labels(out)
    assert back[1] == records[1]
    assert back[0].boxes[0].box == BoundingBox(1.5, 2.0, 30.2, 40.0)


def test_images_outside_the_root_are_written_absolute(tmp_path: Path) -> None:
    image = tmp_path / "elsewhere" / "x.jpg"
    out = tmp_path / "out" / "labels.csv"
    write_labels([LabelledImage(image, 10, 10, (), "s", "train")], out)
    assert out.read_text().splitlines()[1] == f"{image.as_posix()},10,10,,,,,s,train"
    assert read_labels(out)[0].image == image


def test_same_image_in_two_splits_gives_two_records(tmp_path: Path) -> None:
    path = _csv(tmp_path, "x.jpg,10,10,1,1,5,5,s,train", "x.jpg,10,10,2,2,6,6,s,val")
    records = read_labels(path)
    assert [(r.split, len(r.boxes)) for r in records] == [("train", 1), ("val", 1)]
    assert [r.split for r in read_labels(path, split="val")] == ["val"]


def test_default_root(tmp_path: Path) -> None:
    assert default_root(tmp_path / "detect" / "labels.csv") == tmp_path
    assert default_root(tmp_path / "mine" / "labels.csv") == tmp_path / "mine"


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        ((), "image,width,height,xmin,ymin,xmax,ymax,source",
         "{p}: missing column(s) split; the header must have " + HEADER),
        (("x.jpg,10,10,1,1,5,5,s",), HEADER, "{p}:2: expected 9 fields; check for stray commas"),
        (("x.jpg,10,10,1,1,5,5,s,train,extra",), HEADER, "{p}:2: expected 9 fields; check for stray commas"),
        ((",10,10,1,1,5,5,s,train",), HEADER, "{p}:2: the image column is empty"),
        (("x.jpg,0,10,1,1,5,5,s,train",), HEADER, "{p}:2: width must be a positive whole number of pixels, got '0'"),
        (("x.jpg,10,9.5,1,1,5,5,s,train",), HEADER,
         "{p}:2: height must be a positive whole number of pixels, got '9.5'"),
        (("x.jpg,ten,10,1,1,5,5,s,train",), HEADER, "{p}:2: width is not a number: 'ten'"),
        (("x.jpg,10,10,1,1,5,,s,train",), HEADER,
         "{p}:2: box fields must be all filled or all empty (background), got ['1', '1', '5', '']"),
        (("x.jpg,10,10,1,a,5,5,s,train",), HEADER, "{p}:2: ymin is not a number: 'a'"),
        (("x.jpg,10,10,1,1,inf,5,s,train",), HEADER, "{p}:2: xmax is not a finite number: 'inf'"),
        (("x.jpg,10,10,5,1,5,5,s,train",), HEADER, "{p}:2: xmax (5) must be greater than xmin (5)"),
        (("x.jpg,10,10,1,6,5,5,s,train",), HEADER, "{p}:2: ymax (5) must be greater than ymin (6)"),
        (("x.jpg,10,10,1,1,5,5,s,train", "x.jpg,10,12,1,1,5,5,s,train"), HEADER,
         "{p}:3: x.jpg is 10x12 (s) here but 10x10 (s) on line 2; one of the rows describes another picture, "
         "fix or drop it"),
        (("x.jpg,10,10,1,1,5,5,s,train", "x.jpg,10,10,1,1,5,5,t,train"), HEADER,
         "{p}:3: x.jpg is 10x10 (t) here but 10x10 (s) on line 2; one of the rows describes another picture, "
         "fix or drop it"),
        (("x.jpg,10,10,,,,,s,train", "x.jpg,10,10,1,1,5,5,s,train"), HEADER,
         "{p}:3: x.jpg has both a background row and a boxed row; keep one kind"),
        (("x.jpg,10,10,1,1,5,5,s,train", "x.jpg,10,10,,,,,s,train"), HEADER,
         "{p}:3: x.jpg has both a background row and a boxed row; keep one kind"),
    ],
)
def test_malformed_rows(tmp_path: Path, rows: tuple[str, ...], header: str, message: str) -> None:
    path = _csv(tmp_path, *rows, header=header)
    with pytest.raises(DatasetError) as info:
        read_labels(path)
    assert str(info.value) == message.format(p=path)


def test_unreadable_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(DatasetError) as info:
        read_labels(missing)
    assert str(info.value).startswith(f"{missing}: cannot read labels CSV ([Errno 2] No such file or directory")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(DatasetError, match=r"binary\.csv: cannot read labels CSV \('utf-8' codec can't decode"):
        read_labels(binary)


def test_skip_conflicts_leaves_out_only_the_image_whose_rows_disagree(tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "labels.csv"
    rows = ["x.jpg,10,10,1,1,5,5,s,train", "y.jpg,20,20,1,1,5,5,s,train", "x.jpg,10,12,1,1,5,5,s,train",
            "x.jpg,10,10,2,2,6,6,s,train", "y.jpg,20,20,2,2,9,9,s,train"]
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    with pytest.raises(DatasetError, match="describes another picture"):
        read_labels(path, split="train")
    (kept,) = read_labels(path, split="train", skip_conflicts=True)
    assert kept.image.name == "y.jpg" and len(kept.boxes) == 2
    assert "left out 1 image(s)" in caplog.text and "x.jpg" in caplog.text


def test_csv_rows_come_with_their_line_numbers_and_a_checked_header(tmp_path: Path) -> None:
    path = tmp_path / "boxes.csv"
    path.write_text("image,xmin,ymin,xmax,ymax,extra\na.jpg,1,2,3,4,x\n\nb.jpg,1,2,3,nan,\n", encoding="utf-8")
    rows = read_csv_rows(path, ("image", "xmin", "ymin", "xmax", "ymax"), "boxes")
    assert [(line, row["image"]) for line, row in rows] == [(2, "a.jpg"), (4, "b.jpg")]  # blank line skipped
    assert parse_box(rows[0][1], "here") == BoundingBox(1, 2, 3, 4)
    with pytest.raises(DatasetError, match="here: ymax is not a finite number: 'nan'"):
        parse_box(rows[1][1], "here")
    with pytest.raises(DatasetError, match="here: ymax is missing"):
        parse_box({"xmin": "1", "ymin": "2", "xmax": "3"}, "here")
    with pytest.raises(DatasetError, match=r"missing column\(s\) score; the header must have image,score"):
        read_csv_rows(path, ("image", "score"), "boxes")
    with pytest.raises(DatasetError, match="cannot read boxes"):
        read_csv_rows(tmp_path / "none.csv", ("image",), "boxes")
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00image")
    with pytest.raises(DatasetError, match="cannot read boxes"):
        read_csv_rows(tmp_path / "binary.csv", ("image",), "boxes")


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_bytes(("\ufeff" + HEADER + "\nx.jpg,10,10,1,1,5,5,s,train\n").encode("utf-8"))  # Excel's "CSV UTF-8"
    (record,) = read_labels(path)
    assert record.image == tmp_path / "x.jpg" and len(record.boxes) == 1


def test_duplicate_rows_are_dropped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _csv(tmp_path, "x.jpg,10,10,1,1,5,5,s,train", "x.jpg,10,10,2,2,6,6,s,train", "x.jpg,10,10,1,1,5.0,5,s,train",
                "y.jpg,10,10,,,,,s,train", "y.jpg,10,10,,,,,s,train", "x.jpg,10,10,1,1,5,5,s,val")
    x, y, x_val = read_labels(path)
    assert [b.box for b in x.boxes] == [BoundingBox(1, 1, 5, 5), BoundingBox(2, 2, 6, 6)]  # not the plate twice
    assert y.boxes == () and len(x_val.boxes) == 1  # the same box in another split is no duplicate
    assert (x.line, y.line, x_val.line) == (2, 5, 7)
    assert f"{path}: dropped 2 duplicate row(s) (the same image, split and box as an earlier row): line(s) 4, 6" \
        in caplog.text


def test_an_implausible_image_size_is_refused(tmp_path: Path) -> None:
    # to-yolo divided by it and wrote a box 0.000000 wide
    with pytest.raises(DatasetError, match=r":2: width 1e30 is not a plausible image size \(at most 65535 pixels\)"):
        read_labels(_csv(tmp_path, "x.jpg,1e30,10,1,1,5,5,s,train"))


def test_check_image_gives_the_decoded_size_or_names_the_row(tmp_path: Path) -> None:
    from PIL import Image

    from numberplate.datasets.labels import check_image

    upright = tmp_path / "upright.jpg"
    Image.new("RGB", (40, 20)).save(upright)
    turned = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 40x20, shown turned a quarter: 20x40, as load_image and cv2.imread decode it
    Image.new("RGB", (40, 20)).save(turned, exif=exif)
    assert check_image(upright, "l.csv:2") == (40, 20) and check_image(turned, "l.csv:3") == (20, 40)
    (tmp_path / "notes.jpg").write_text("not a picture")
    for path, message in [(tmp_path / "gone.jpg", "l.csv:4: image {} does not exist; fix the path or remove the row"),
                          (tmp_path, "l.csv:4: {} is a folder, not an image file; fix the path or remove the row"),
                          (tmp_path / "notes.jpg", "l.csv:4: {} is not an image (")]:
        with pytest.raises(DatasetError) as info:
            check_image(path, "l.csv:4")
        assert str(info.value).startswith(message.format(path))
