"""`numberplate data import-voc | to-yolo | from-yolo` through click's runner: exit codes, messages, files."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from numberplate.cli import main
from numberplate.datasets.labels import LABELS_COLUMNS, read_labels

KAGGLE_CARS0 = "voc/kaggle-car-plate/images/Cars0.jpg"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def val_subset(tmp_path: Path, data_dir: Path, detect_rows: list[dict[str, str]]) -> Path:
    """A small labels CSV of real val rows (background and several-plate images included), absolute image paths."""
    val = [r for r in detect_rows if r["split"] == "val"]
    multi = {name for name, n in Counter(r["image"] for r in val).items() if n > 1}
    keep = {r["image"] for r in val if not r["xmin"]}
    keep = set(sorted(keep)[:3]) | set(sorted(multi)[:3]) | {r["image"] for r in val[:20]}
    rows = [r for r in detect_rows if r["image"] in keep] + [r for r in detect_rows if r["split"] == "train"][:5]
    path = tmp_path / "subset.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, LABELS_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({**r, "image": (data_dir / r["image"]).as_posix()})
    return path


def test_data_group_is_registered(runner: CliRunner) -> None:
    result = runner.invoke(main, ["data", "--help"])
    assert result.exit_code == 0, result.output
    for command in ("import-voc", "to-yolo", "from-yolo"):
        assert command in result.output


def test_import_voc_original_format(runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "plates.csv"
    result = runner.invoke(main, ["data", "import-voc", str(data_dir / "voc" / "kaggle-car-plate"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote 433 images, 471 boxes to {out}\n"
    lines = out.read_text().splitlines()
    assert lines[0] == "filepath,xmin,xmax,ymin,ymax"
    assert len(lines) == 472
    assert lines[1] == f"{(data_dir / KAGGLE_CARS0).as_posix()},226,419,125,173"


def test_import_voc_detect_format_from_the_annotations_folder(runner: CliRunner, data_dir: Path,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "labels.csv"
    folder = data_dir / "voc" / "kaggle-car-plate" / "annotations"
    result = runner.invoke(main, ["data", "import-voc", str(folder), "--out", str(out), "--format", "detect",
                                  "--source", "kaggle", "--split", "val"])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == ",".join(LABELS_COLUMNS)
    assert lines[1] == f"{(data_dir / KAGGLE_CARS0).as_posix()},500,268,226.0,125.0,419.0,173.0,kaggle,val"
    assert len(read_labels(out)) == 433


def test_import_voc_wrong_images_folder_is_exit_1(runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    voc = data_dir / "voc" / "kaggle-car-plate"
    out = tmp_path / "o.csv"
    result = runner.invoke(main, ["data", "import-voc", str(voc / "annotations"), "--images", str(voc / "annotations"),
                                  "--out", str(out)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {voc / 'annotations' / 'Cars0.xml'}: image ")
    assert not out.exists()


def test_import_voc_malformed_file_is_exit_1_with_the_file_named(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "annotations").mkdir()
    bad = tmp_path / "annotations" / "x.xml"
    bad.write_text("<annotation><filename>x.jpg</filename>")
    result = runner.invoke(main, ["data", "import-voc", str(tmp_path), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {bad}: not well-formed XML (no element found: line 1, column 38); fix or remove the file\n"
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["data", "import-voc", "/nonexistent/voc", "--out", "o.csv"], "Directory '/nonexistent/voc' does not exist"),
        (["data", "import-voc", ".", "--out", "o.csv", "--format", "yolo"],
         "'yolo' is not one of 'original', 'detect'"),
        (["data", "import-voc", "."], "Missing option '--out'"),
        (["data", "to-yolo", "/nonexistent.csv", "--out", "y"], "File '/nonexistent.csv' does not exist"),
        (["data", "from-yolo", ".", "--out", "o.csv"], "Missing option '--images'"),
    ],
)
def test_usage_errors_are_exit_2(runner: CliRunner, args: list[str], fragment: str) -> None:
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert fragment in result.output


def test_to_yolo_and_back(runner: CliRunner, val_subset: Path, data_dir: Path, tmp_path: Path) -> None:
    original = read_labels(val_subset, split="val")
    yolo = tmp_path / "yolo"
    result = runner.invoke(main, ["data", "to-yolo", str(val_subset), "--out", str(yolo), "--split", "val"])
    assert result.exit_code == 0, result.output
    boxes = sum(len(r.boxes) for r in original)
    assert result.output == f"wrote {len(original)} images, {boxes} boxes to {yolo}\n"
    assert len(list(yolo.rglob("*.txt"))) == len(original) + 1  # + classes.txt

    out = tmp_path / "back" / "labels.csv"
    result = runner.invoke(main, ["data", "from-yolo", str(yolo), "--images", str(data_dir), "--out", str(out),
                                  "--source", "roundtrip", "--split", "val"])
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {len(original)} images, {boxes} boxes to {out}\n"
    back = {r.image: r for r in read_labels(out)}
    assert set(back) == {r.image for r in original}
    for r in original:
        again = back[r.image]
        assert (again.width, again.height, again.source, again.split) == (r.width, r.height, "roundtrip", "val")
        assert len(again.boxes) == len(r.boxes)
        for a, b in zip(r.boxes, again.boxes, strict=True):
            assert abs(a.box.xmin - b.box.xmin) <= 0.5 and abs(a.box.ymin - b.box.ymin) <= 0.5
            assert abs(a.box.xmax - b.box.xmax) <= 0.5 and abs(a.box.ymax - b.box.ymax) <= 0.5


def test_to_yolo_without_split_keeps_every_row(runner: CliRunner, val_subset: Path, tmp_path: Path) -> None:
    result = runner.invoke(main, ["data", "to-yolo", str(val_subset), "--out", str(tmp_path / "y")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"wrote {len(read_labels(val_subset))} images, ")


def test_to_yolo_unknown_split_is_exit_1(runner: CliRunner, val_subset: Path, tmp_path: Path) -> None:
    result = runner.invoke(main, ["data", "to-yolo", str(val_subset), "--out", str(tmp_path / "y"), "--split", "test"])
    assert result.exit_code == 1
    assert result.output == f"Error: {val_subset}: no rows with split 'test'\n"


def test_to_yolo_bad_csv_is_exit_1(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("image,width,height\nx.jpg,1,1\n")
    result = runner.invoke(main, ["data", "to-yolo", str(bad), "--out", str(tmp_path / "y")])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {bad}: missing column(s) xmin, ymin, xmax, ymax, source, split; "
        f"the header must have {','.join(LABELS_COLUMNS)}\n"
    )


def test_from_yolo_missing_image_is_exit_1(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "labels").mkdir()
    (tmp_path / "images").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    result = runner.invoke(main, ["data", "from-yolo", str(tmp_path / "labels"), "--images", str(tmp_path / "images"),
                                  "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {tmp_path / 'labels' / 'a.txt'}: no image named a.* under {tmp_path / 'images'}; check --images\n"
    )


def test_data_commands_refuse_bad_input_with_one_line(runner: CliRunner, tmp_path: Path) -> None:
    # to-yolo: an implausible width in the labels (it wrote a box 0.000000 wide)
    labels = tmp_path / "labels.csv"
    labels.write_text(",".join(LABELS_COLUMNS) + "\nx.jpg,1e30,10,1,1,5,5,s,train\n")
    result = runner.invoke(main, ["data", "to-yolo", str(labels), "--out", str(tmp_path / "y")])
    assert result.exit_code == 1
    assert result.output == f"Error: {labels}:2: width 1e30 is not a plausible image size (at most 65535 pixels); " \
        "fix the row\n"
    # from-yolo: a classes.txt that is not UTF-8 (it was a UnicodeDecodeError traceback)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "classes.txt").write_bytes(b"plaque \xe9\n")
    result = runner.invoke(main, ["data", "from-yolo", str(tmp_path / "labels"), "--images", str(tmp_path),
                                  "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 1 and result.exception is not None and isinstance(result.exception, SystemExit)
    assert result.output.startswith(f"Error: {tmp_path / 'labels' / 'classes.txt'}: not UTF-8 text (")
