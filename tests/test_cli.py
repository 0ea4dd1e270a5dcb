"""`numberplate read` end to end with the shipped models: JSON Lines schema, table, errors, outputs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from numberplate.cli import main

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "read_jsonl.schema.json").read_text())
SCENES = ["detect/images/openlpr/10.jpg", "detect/images/romania/dayride_type1_001.mp4_t1054.jpg",
          "detect/images/tunisia/1.jpg", "voc/kaggle-car-plate/images/Cars0.jpg", "detect/images/negatives/UMD_028.jpg"]


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """A folder (with a sub-folder) of links to real shared scene images: nothing is copied."""
    root = tmp_path_factory.mktemp("scenes")
    (root / "sub").mkdir()
    for i, rel in enumerate(SCENES):
        target = root / ("sub" if i % 2 else "") / Path(rel).name
        target.symlink_to(data_dir / rel)
    return root


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_json_lines_one_valid_object_per_image(scene_dir: Path) -> None:
    result = CliRunner().invoke(main, ["read", "--json", str(scene_dir)])
    assert result.exit_code == 0, result.output
    records = _lines(result.stdout)
    n_images = len([p for p in scene_dir.rglob("*.jpg")])
    assert n_images == len(SCENES) and len(records) == n_images
    for rec in records:
        jsonschema.validate(rec, SCHEMA)
        assert rec["error"] is None
        for plate in rec["plates"]:
            b = plate["box"]
            assert b["xmax"] <= rec["width"] and b["ymax"] <= rec["height"]
    assert sorted(Path(r["file"]).name for r in records) == sorted(p.name for p in scene_dir.rglob("*.jpg"))


def test_bad_file_gets_error_line_and_exit_1(scene_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    good = next(scene_dir.glob("*.jpg"))
    result = CliRunner().invoke(main, ["read", "--json", str(bad), str(good), str(tmp_path / "missing.png")])
    assert result.exit_code == 1
    records = _lines(result.stdout)
    assert [r["file"] for r in records] == [str(bad), str(good), str(tmp_path / "missing.png")]
    for rec in records:
        jsonschema.validate(rec, SCHEMA)
    assert records[0]["error"].startswith(f"{bad} is")
    assert records[0]["plates"] == [] and records[0]["width"] is None
    assert records[1]["error"] is None
    assert records[2]["error"] == f"{tmp_path / 'missing.png'}: no such file, folder or matching glob"
    assert "2 of 3 input(s) failed" in result.stderr


def test_glob_table_annotate_and_crops(scene_dir: Path, tmp_path: Path) -> None:
    ann, crops = tmp_path / "ann", tmp_path / "crops"
    result = CliRunner().invoke(main, ["read", str(scene_dir / "*.jpg"), "--annotate", str(ann), "--crops", str(crops)])
    assert result.exit_code == 0, result.output
    top_level = sorted(p.stem for p in scene_dir.glob("*.jpg"))
    assert sorted(p.stem for p in ann.glob("*.jpg")) == top_level
    # The table has one row per plate, or a "no plate found" row, for each image.
    for stem in top_level:
        assert stem in result.stdout
    n_plates = sum(1 for line in result.stdout.splitlines() if "(no plate found)" not in line)
    assert len(list(crops.glob("*.jpg"))) == n_plates


def test_unknown_ocr_backend_is_a_usage_error(scene_dir: Path) -> None:
    result = CliRunner().invoke(main, ["read", "--ocr", "nope", str(scene_dir)])
    assert result.exit_code == 1
    assert "unknown OCR backend 'nope'; choose one of" in result.output


def test_empty_path_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An unset shell variable ("$FILE") used to read the whole working folder, as "." would.
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["read", ""])
    assert result.exit_code == 2
    assert "Invalid value for PATHS: an empty path was given" in result.output


def test_hidden_files_and_system_folders_in_a_folder_are_passed_over(tmp_path: Path, data_dir: Path) -> None:
    photo = data_dir / "detect/images/tunisia/112.jpg"
    for rel in ("car.jpg", "._car.jpg", ".cache/car.jpg", "@eaDir/car.jpg/SYNOPHOTO_THUMB_S.jpg", "sub/car2.jpg"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).symlink_to(photo)
    result = CliRunner().invoke(main, ["read", "--json", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(Path(r["file"]).relative_to(tmp_path).as_posix() for r in _lines(result.stdout)) == [
        "car.jpg", "sub/car2.jpg"]
    # Named on its own, a hidden file is read.
    result = CliRunner().invoke(main, ["read", "--json", str(tmp_path / "._car.jpg")])
    assert [r["plates"][0]["text"] for r in _lines(result.stdout)] == ["96T8557"]


def test_a_file_name_with_a_newline_or_escape_stays_on_one_table_row(tmp_path: Path, data_dir: Path) -> None:
    odd = tmp_path / "a\nb\x1b[31m.jpg"
    odd.symlink_to(data_dir / "detect/images/tunisia/112.jpg")
    result = CliRunner().invoke(main, ["read", str(odd)])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if "96T8557" in line]
    assert len(rows) == 1 and rows[0].startswith(str(tmp_path / "a\\nb\\x1b[31m.jpg"))
    assert "\x1b" not in result.stdout


def test_a_dash_reads_the_image_from_standard_input(tmp_path: Path, data_dir: Path) -> None:
    photo = (data_dir / "detect/images/tunisia/112.jpg").read_bytes()
    result = CliRunner().invoke(main, ["read", "--json", "-", "--annotate", str(tmp_path)], input=photo)
    assert result.exit_code == 0, result.output
    (record,) = _lines(result.stdout)
    assert record["file"] == "-" and record["plates"][0]["text"] == "96T8557"
    assert (tmp_path / "stdin.jpg").is_file()
    result = CliRunner().invoke(main, ["read", "--json", "-"], input=b"")
    assert result.exit_code == 1 and "is empty" in _lines(result.stdout)[0]["error"]


def test_no_progress_line_on_stderr_that_is_not_a_terminal(data_dir: Path) -> None:
    # The progress bar is for a terminal: piped or logged, stderr got a stray "reading" line per run.
    result = CliRunner().invoke(main, ["read", "--json", str(data_dir / "detect/images/tunisia/112.jpg")])
    assert result.exit_code == 0, result.output
    assert _lines(result.stdout)[0]["plates"][0]["text"] == "96T8557"
    assert result.stderr == ""


def _terminal_screen_lines(tmp_path: Path, *args: str) -> list[str]:
    """`numberplate read ARGS` with stdout and stderr on one pseudo-terminal: the lines as a screen shows them
    (what follows each line's last carriage return, less the terminal escapes)."""
    main_fd, child_fd = os.openpty()
    env = {**os.environ, "NUMBERPLATE_INSTANCE_PATH": str(tmp_path / "instance")}
    with subprocess.Popen([sys.executable, "-m", "numberplate", "read", *args], stdin=subprocess.DEVNULL,
                          stdout=child_fd, stderr=child_fd, env=env) as proc:
        os.close(child_fd)
        chunks = []
        while True:
            try:
                chunk = os.read(main_fd, 4096)
            except OSError:  # EIO: the child has closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(main_fd)
        assert proc.wait(timeout=120) == 0
    text = b"".join(chunks).decode()
    return [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line.rstrip("\r").rsplit("\r", 1)[-1])
            for line in text.split("\n")]


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_on_a_terminal_rows_are_not_written_onto_the_progress_bar(data_dir: Path, tmp_path: Path) -> None:
    # Both on a terminal, each row was appended to the bar's line: "reading  [---]  0/2photo.jpg  96T8557 ...".
    photo = str(data_dir / "detect/images/tunisia/112.jpg")
    lines = _terminal_screen_lines(tmp_path, photo, photo)
    rows = [line for line in lines if "96T8557" in line]
    assert len(rows) == 2 and all(row.startswith(f"{photo}  96T8557") for row in rows), lines
    assert any(line.startswith("reading") and "2/2" in line for line in lines), lines  # the bar is still shown


def test_folder_without_images_is_reported(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "only" / "a.jpg").mkdir(parents=True)  # a folder named like an image is not one
    result = CliRunner().invoke(main, ["read", "--json", str(tmp_path / "empty"), str(tmp_path / "only")])
    assert result.exit_code == 1
    errors = [r["error"] for r in _lines(result.stdout)]
    assert [e.split(":")[0] for e in errors] == [str(tmp_path / "empty"), str(tmp_path / "only")]
    assert all(": no image files in this folder (.avif, " in e for e in errors)


@pytest.mark.parametrize("option", ["--annotate", "--crops"])
def test_output_folder_that_cannot_be_made_is_a_usage_error(option: str, scene_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = CliRunner().invoke(main, ["read", str(scene_dir), option, str(blocker / "sub")])
    assert result.exit_code == 2
    assert f"Invalid value for {option}: cannot create the folder {blocker / 'sub'}: Not a directory" in result.output


def test_unknown_country_is_refused_before_reading(scene_dir: Path) -> None:
    result = CliRunner().invoke(main, ["read", "--country", "zz", str(scene_dir)])
    assert result.exit_code == 1
    assert "config 'country': unknown country code 'zz'; known codes:" in result.output
    assert "reading" not in result.output


def test_table_rows_show_the_looked_up_vehicle_or_the_lookup_error() -> None:
    # With --lookup the table showed nothing of the lookup; only --json had it.
    from numberplate.cli import _table_rows

    plate = {"text": "96T8557", "confidence": 0.96, "detection_confidence": 0.9,
             "box": {"xmin": 1, "ymin": 2, "xmax": 30, "ymax": 12}, "vehicle": None, "lookup_error": None}
    record = {"error": None, "processing_time_ms": 40.0, "plates": [
        {**plate, "vehicle": {"make": "Opel", "model": "Combo", "colour": None}},
        {**plate, "lookup_error": "'96T8557' is not in the local vehicle registry"},
        plate,
    ]}
    rows = _table_rows("car.jpg", record)
    assert rows[0].endswith("40 ms  Opel Combo")
    assert rows[1].endswith("40 ms  (lookup: '96T8557' is not in the local vehicle registry)")
    assert rows[2].endswith("40 ms")


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "table"])
def test_output_stdout_cannot_encode_is_escaped_and_the_rest_still_read(
    as_json: bool, data_dir: Path, tmp_path: Path
) -> None:
    # On Windows a redirected stdout is cp1252: a Chinese file name (or plate) failed the whole run with a
    # UnicodeEncodeError traceback, and the images after it were never read.
    chinese, plain = tmp_path / "车牌.jpg", tmp_path / "plain.jpg"
    for link in (chinese, plain):
        link.symlink_to(data_dir / "detect/images/tunisia/112.jpg")
    args = ["read", *(["--json"] if as_json else []), str(chinese), str(plain)]
    result = CliRunner(charset="cp1252").invoke(main, args)
    assert result.exit_code == 0, result.output
    if as_json:
        records = _lines(result.stdout)
        assert [r["file"] for r in records] == [str(chinese), str(plain)]  # escaped in the JSON, not lost
        assert [p["text"] for r in records for p in r["plates"]] == ["96T8557", "96T8557"]
    else:
        rows = result.stdout.splitlines()
        assert rows[0].startswith(str(tmp_path / "\\u8f66\\u724c.jpg  96T8557"))
        assert rows[1].startswith(f"{plain}  96T8557")
