"""`numberplate eval detect` prints a per-source table (or JSON) for a labelled split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from numberplate.cli import main
from tests.fakes import write_stand_in_model


def test_eval_detect_json_has_every_metric(data_dir: Path) -> None:
    labels = data_dir / "detect" / "labels.csv"
    result = CliRunner().invoke(main, ["eval", "detect", "--data", str(labels), "--limit", "4", "--json"])
    assert result.exit_code == 0, result.output
    table = json.loads(result.stdout.strip().splitlines()[-1])
    assert table["all"]["images"] == 4
    assert set(table["all"]) == {"images", "plates", "precision", "recall", "ap50", "ap50_95", "fp_per_negative",
                                 "calibration_error"}
    assert 0.0 <= table["all"]["precision"] <= 1.0 and 0.0 <= table["all"]["calibration_error"] <= 1.0


def test_eval_detect_takes_the_detector_as_eval_e2e_does(data_dir: Path, tmp_path: Path) -> None:
    from numberplate.detection.platenet import MODELS_DIR

    labels = str(data_dir / "detect" / "labels.csv")
    runs = [CliRunner().invoke(main, ["eval", "detect", "--data", labels, "--limit", "3", "--json", *extra])
            for extra in ([], ["--detector-model", str(MODELS_DIR / "detector.onnx")])]
    assert [r.exit_code for r in runs] == [0, 0], runs[1].output
    default, named = (json.loads(r.stdout.strip().splitlines()[-1]) for r in runs)
    assert default.pop("ms_per_image") > 0 and named.pop("ms_per_image") > 0
    assert named == default
    missing = CliRunner().invoke(main, ["eval", "detect", "--data", labels, "--detector-model", str(tmp_path / "x")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_eval_detect_on_larger_scenes_and_mosaics(data_dir: Path) -> None:
    labels = data_dir / "detect" / "labels.csv"

    def report(*extra: str) -> dict:
        result = CliRunner().invoke(main, ["eval", "detect", "--data", str(labels), "--limit", "5", "--json", *extra])
        assert result.exit_code == 0, result.output
        return dict(json.loads(result.stdout.strip().splitlines()[-1]))

    plain, scaled = report(), report("--scale", "2.5")
    assert scaled["all"]["plates"] == plain["all"]["plates"] and scaled["all"]["recall"] >= 0.8
    # Five scenes in 2x2 mosaics: one of four and one of the last scene; every plate counted once.
    mosaic = report("--mosaic", "2")
    assert mosaic["all"]["images"] == 2 and mosaic["all"]["plates"] == plain["all"]["plates"]
    assert set(mosaic) >= {"mosaic", "all"} and mosaic["all"]["recall"] >= 0.8


def test_eval_detect_unknown_split_is_an_error(data_dir: Path) -> None:
    labels = data_dir / "detect" / "labels.csv"
    result = CliRunner().invoke(main, ["eval", "detect", "--data", str(labels), "--split", "nope"])
    assert result.exit_code == 1
    assert f"no images of split 'nope' in {labels}" in result.output


def test_eval_ocr_compares_backends_on_the_same_crops(data_dir: Path) -> None:
    labels = data_dir / "ocr" / "labels.csv"
    result = CliRunner().invoke(
        main, ["eval", "ocr", "--data", str(labels), "--limit", "3", "--backend", "tesseract", "--json"]
    )
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["backend"] == "tesseract"
    assert report["overall"]["plates"] == 3
    assert 0.0 <= report["overall"]["char_accuracy"] <= 1.0


def test_eval_ocr_lists_the_crops_a_backend_misread(data_dir: Path) -> None:
    labels = data_dir / "ocr" / "labels.csv"
    args = ["eval", "ocr", "--data", str(labels), "--limit", "4", "--backend", "tesseract", "--errors"]
    (report,) = json.loads(CliRunner().invoke(main, [*args, "--json"]).stdout.strip().splitlines()[-1])
    exact = report["overall"]["exact"]
    assert len(report["errors"]) == round((1 - exact) * 4)
    for e in report["errors"]:
        assert e["predicted"] != e["truth"] and Path(e["image"]).is_file()
    text = CliRunner().invoke(main, args)
    assert text.exit_code == 0, text.output
    listed = [line for line in text.stdout.splitlines() if line.startswith("tesseract ") and " truth " in line]
    assert len(listed) == len(report["errors"])


def test_eval_ocr_unknown_backend_is_an_error(data_dir: Path) -> None:
    labels = data_dir / "ocr" / "labels.csv"
    result = CliRunner().invoke(main, ["eval", "ocr", "--data", str(labels), "--backend", "nope"])
    assert result.exit_code == 1
    assert "unknown OCR backend 'nope'" in result.output


def test_eval_ocr_scores_another_model_of_ours(data_dir: Path, tmp_path: Path) -> None:
    labels = data_dir / "ocr" / "labels.csv"
    model = tmp_path / "mine.onnx"
    write_stand_in_model(model, "ZZZ999", "ZZZ999")  # reads the same wrong text on every crop
    args = ["eval", "ocr", "--data", str(labels), "--limit", "4", "--backend", "plateocr", "--json"]
    shipped = json.loads(CliRunner().invoke(main, args).stdout.strip().splitlines()[-1])[0]
    mine = json.loads(CliRunner().invoke(main, [*args, "--ocr-model", str(model)]).stdout.strip().splitlines()[-1])[0]
    assert shipped["overall"]["exact"] > 0.5 and mine["overall"]["exact"] == 0.0
    missing = CliRunner().invoke(main, [*args, "--ocr-model", str(tmp_path / "nope.onnx")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_eval_ocr_on_synthetic_plates_scores_every_layout() -> None:
    from numberplate.train.synth import LAYOUTS

    args = ["eval", "ocr", "--synthetic", "2", "--backend", "plateocr"]
    (report,) = json.loads(CliRunner().invoke(main, [*args, "--json"]).stdout.strip().splitlines()[-1])
    assert set(report["by_source"]) == {layout.name for layout in LAYOUTS}
    assert report["overall"]["plates"] == 2 * len(LAYOUTS) and report["overall"]["exact"] > 0.5
    text = CliRunner().invoke(main, [*args, "--limit", "3", "--errors"])
    assert text.exit_code == 0, text.output
    assert text.stdout.splitlines()[2].startswith("eu_de ") and "overall" in text.stdout


def test_eval_detect_sweep_on_a_sample_spread_over_the_split(data_dir: Path) -> None:
    labels = data_dir / "detect" / "labels.csv"
    args = ["eval", "detect", "--data", str(labels), "--split", "train", "--sample", "6", "--sweep", "--skip-conflicts"]
    report = json.loads(CliRunner().invoke(main, [*args, "--json"]).stdout.strip().splitlines()[-1])
    assert report["all"]["images"] == 6 and len({k for k in report if k not in ("all", "threshold", "ms_per_image",
                                                                                 "sweep", "negatives")}) >= 2
    assert [row["threshold"] for row in report["sweep"]][:2] == [0.3, 0.35] and len(report["sweep"]) == 11
    text = CliRunner().invoke(main, args)
    assert text.exit_code == 0, text.output
    assert text.stdout.count("<- max F1") == 1


@pytest.mark.parametrize("paint", ["--synthetic-plates", "--square-plates", "--dark-plates"])
def test_eval_detect_on_painted_plates_is_repeatable(data_dir: Path, paint: str) -> None:
    labels = data_dir / "detect" / "labels.csv"
    args = ["eval", "detect", "--data", str(labels), "--limit", "3", paint, "--json"]
    runs = [CliRunner().invoke(main, args) for _ in range(2)]
    assert all(r.exit_code == 0 for r in runs), runs[0].output
    first, second = (json.loads(r.stdout.strip().splitlines()[-1]) for r in runs)
    assert first["all"] == second["all"] and first["all"]["images"] == 3
    plain = json.loads(CliRunner().invoke(main, [*args[:-2], "--json"]).stdout.strip().splitlines()[-1])
    assert first["all"] != plain["all"]  # other plates (square ones in grown boxes)


@pytest.mark.parametrize("paints", [("--synthetic-plates", "--square-plates"), ("--square-plates", "--dark-plates")])
def test_eval_detect_paints_one_kind_of_plate_at_a_time(data_dir: Path, paints: tuple[str, str]) -> None:
    both = CliRunner().invoke(main, ["eval", "detect", "--data", str(data_dir / "detect" / "labels.csv"), "--limit",
                                     "1", *paints])
    assert both.exit_code == 2
    assert "choose one of --synthetic-plates, --square-plates and --dark-plates" in both.output


def test_eval_e2e_lists_misses_and_false_reads(data_dir: Path, tmp_path: Path) -> None:
    # Two real scenes under a root without detect labels: 276.jpg's plate labelled where it is; 112.jpg's
    # label put in a corner, so its plate is "not detected" there and the plate the reader finds is a false read.
    (tmp_path / "s").mkdir()
    for name in ("276.jpg", "112.jpg"):
        (tmp_path / "s" / name).write_bytes((data_dir / "detect" / "images" / "tunisia" / name).read_bytes())
    labels = tmp_path / "labels.csv"
    labels.write_text("image,xmin,ymin,xmax,ymax,text,legible,source\n"
                      "s/276.jpg,210.8,265.0,338.8,313.2,162T9979,yes,tn\n"
                      "s/112.jpg,0,0,40,12,AB123,yes,tn\n")
    args = ["eval", "e2e", "--labels", str(labels), "--root", str(tmp_path), "--errors"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any("truth AB123" in line and line.endswith("(not detected)") for line in lines), result.stdout
    assert any("truth -" in line and "read 96T8557  (false read: no known plate at [" in line for line in lines)
    assert not any("162T9979" in line for line in lines if line.startswith("tn ")), result.stdout

    report = json.loads(CliRunner().invoke(main, [*args, "--json"]).stdout.strip().splitlines()[-1])
    assert report["table"]["all"]["plates"] == 2 and report["table"]["all"]["false_reads"] == 1
    assert [(e["truth"], e["read"], e["false_read"]) for e in report["errors"]] == [
        ("AB123", None, False), (None, "96T8557", True)]
    # A plate the labels leave out, listed to --ignore, is known: reading it is not false.
    ignore = tmp_path / "ignore.csv"
    box = report["errors"][1]["box"]
    ignore.write_text(f"image,xmin,ymin,xmax,ymax,note\ns/112.jpg,{','.join(map(str, box))},unboxed\n")
    report = json.loads(CliRunner().invoke(main, [*args, "--ignore", str(ignore), "--json"]).stdout.strip()
                        .splitlines()[-1])
    assert report["table"]["all"]["false_reads"] == 0 and [e["false_read"] for e in report["errors"]] == [False]


def test_eval_detect_errors_list_what_precision_and_recall_count(data_dir: Path) -> None:
    labels = data_dir / "detect" / "labels.csv"
    args = ["eval", "detect", "--data", str(labels), "--limit", "40", "--errors"]
    report = json.loads(CliRunner().invoke(main, [*args, "--json"]).stdout.strip().splitlines()[-1])
    table, errors = report["all"], report["errors"]
    found = round(table["recall"] * table["plates"])
    missed = [e for e in errors if e["kind"] == "missed"]
    false = [e for e in errors if e["kind"] == "false_positive"]
    assert len(missed) == table["plates"] - found
    assert len(false) == round(found / table["precision"]) - found if table["precision"] else len(false) > 0
    assert all(e["image"].startswith("detect/images/") and len(e["box"]) == 4 for e in errors)
    assert all(e["score"] >= report["threshold"] for e in false)
    text = CliRunner().invoke(main, args).stdout
    assert all(f"{e['box']}" in text for e in errors)
    # At the strictest threshold (1: --threshold is in (0, 1]) each plate is missed, with its best detection's score.
    strict = json.loads(CliRunner().invoke(main, [*args[:-2], "10", "--errors", "--threshold", "1", "--json"])
                        .stdout.strip().splitlines()[-1])
    assert len(strict["errors"]) == strict["all"]["plates"] and all(e["kind"] == "missed" for e in strict["errors"])
    assert all(e["score"] is not None and e["score"] < 1 for e in strict["errors"])


def test_eval_detect_ignore_leaves_detections_of_unboxed_plates_unscored(data_dir: Path, tmp_path: Path) -> None:
    labels = data_dir / "detect" / "labels.csv"
    args = ["eval", "detect", "--data", str(labels), "--limit", "40", "--errors", "--json"]
    before = json.loads(CliRunner().invoke(main, args).stdout.strip().splitlines()[-1])
    false = [e for e in before["errors"] if e["kind"] == "false_positive"]
    assert false, "the first 40 val scenes have a false positive to leave out"
    ignore = tmp_path / "ignore.csv"
    ignore.write_text("image,xmin,ymin,xmax,ymax,note\n" + "".join(
        f"{e['image']},{','.join(str(v) for v in e['box'])},test\n" for e in false))
    after = json.loads(CliRunner().invoke(main, [*args, "--ignore", str(ignore)]).stdout.strip().splitlines()[-1])
    assert [e for e in after["errors"] if e["kind"] == "false_positive"] == []
    assert after["all"]["precision"] == 1.0 and after["all"]["recall"] == before["all"]["recall"]
    result = CliRunner().invoke(main, [*args, "--ignore", str(ignore), "--mosaic", "2"])
    assert result.exit_code == 2 and "--mosaic" in result.output
    (tmp_path / "bad.csv").write_text("image,xmin\n")
    result = CliRunner().invoke(main, [*args, "--ignore", str(tmp_path / "bad.csv")])
    assert result.exit_code == 1 and "missing column" in result.output


def test_eval_ocr_corrections_relabel_and_leave_out_crops(data_dir: Path, tmp_path: Path) -> None:
    labels = data_dir / "ocr" / "labels.csv"
    args = ["eval", "ocr", "--data", str(labels), "--limit", "3", "--backend", "plateocr", "--errors", "--json"]
    (before,) = json.loads(CliRunner().invoke(main, args).stdout.strip().splitlines()[-1])
    assert before["overall"]["plates"] == 3 and before["overall"]["exact"] == 1.0  # three clear Tunisian plates
    corrections = tmp_path / "corrections.csv"
    corrections.write_text("image,text,note\nocr/crops/tunisia/112.jpg,999T9999,test\nocr/crops/tunisia/154.jpg,,test\n")
    result = CliRunner().invoke(main, [*args, "--corrections", str(corrections)])
    assert result.exit_code == 0, result.output
    (after,) = json.loads(result.stdout.strip().splitlines()[-1])
    assert after["overall"]["plates"] == 2 and after["overall"]["exact"] == 0.5
    assert [e["truth"] for e in after["errors"]] == ["999T9999"]
    (tmp_path / "bad.csv").write_text("image,label\n")
    result = CliRunner().invoke(main, [*args, "--corrections", str(tmp_path / "bad.csv")])
    assert result.exit_code == 1 and "missing column" in result.output


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--side", "0", "0 is not in the range 64<=x<=4096"),
    ("--side", "33", "33 is not in the range 64<=x<=4096"),
    ("--side", "100", "100 is not a multiple of 32"),
    ("--side", "100000", "100000 is not in the range 64<=x<=4096"),
    ("--threshold", "nan", "'nan' is not a number"),
    ("--threshold", "-5", "-5.0 is not in the range 0<x<=1"),
    ("--threshold", "5", "5.0 is not in the range 0<x<=1"),
    ("--threshold", "0", "0.0 is not in the range 0<x<=1"),
])
def test_eval_detect_checks_side_and_threshold(data_dir: Path, option: str, value: str, message: str) -> None:
    # --limit 1: were the value let through, one image is read, not the whole split.
    result = CliRunner().invoke(main, ["eval", "detect", "--data", str(data_dir / "detect" / "labels.csv"),
                                       "--limit", "1", option, value])
    assert result.exit_code == 2
    assert f"Invalid value for '{option}': {message}" in result.output


def _rows(path: Path, header: str, *rows: str) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


DETECT_HEADER = "image,width,height,xmin,ymin,xmax,ymax,source,split"


def test_eval_detect_names_the_row_of_an_image_it_cannot_read_before_any_work(data_dir: Path, tmp_path: Path) -> None:
    good = f"{data_dir / 'detect' / 'images' / 'openlpr' / '10.jpg'},600,450,243.8,295.3,370.3,351.6,openlpr,val"
    (tmp_path / "notes.jpg").write_text("not a picture")
    labels = tmp_path / "x.csv"
    for image, message in [("gone.jpg", "image {} does not exist; fix the path or remove the row"),
                           ("sub", "{} is a folder, not an image file; fix the path or remove the row"),
                           ("notes.jpg", "{} is not an image (")]:
        (tmp_path / "sub").mkdir(exist_ok=True)
        _rows(labels, DETECT_HEADER, good, f"{image},600,450,1,1,50,20,openlpr,val")
        result = CliRunner().invoke(main, ["eval", "detect", "--data", str(labels)])
        assert result.exit_code == 1 and result.exception is not None and isinstance(result.exception, SystemExit)
        assert result.output.startswith(f"Error: {labels}:3: " + message.format(tmp_path / image))
        assert "detecting" not in result.output  # refused before any image was read


def test_eval_detect_leaves_out_images_labelled_for_another_size(data_dir: Path, tmp_path: Path) -> None:
    images = data_dir / "detect" / "images" / "openlpr"
    labels = _rows(tmp_path / "x.csv", DETECT_HEADER,
                   f"{images / '10.jpg'},600,450,243.8,295.3,370.3,351.6,openlpr,val",
                   f"{images / '1010.jpg'},640,480,86.0,276.9,231.6,353.6,openlpr,val")  # it is 600x450
    result = CliRunner().invoke(main, ["eval", "detect", "--data", str(labels), "--json"])
    assert result.exit_code == 0, result.output
    assert (f"warning: left out 1 image(s) labelled for another image size, with their 1 box(es): "
            f"{images / '1010.jpg'} (line 3: 640x480, the image is 600x450)") in result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["all"]["images"] == 1 and report["all"]["plates"] == 1


OCR_HEADER = "image,text,country,source,split"


def test_eval_ocr_compares_label_texts_as_readers_write_them(data_dir: Path, tmp_path: Path) -> None:
    crop = data_dir / "ocr" / "crops" / "tunisia" / "0.jpg"  # labelled 117T3989 in the shared labels
    labels = _rows(tmp_path / "x.csv", OCR_HEADER, f"{crop},117t 3989,tn,tunisia,val")
    result = CliRunner().invoke(main, ["eval", "ocr", "--data", str(labels), "--backend", "plateocr", "--json"])
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["overall"]["exact"] == 1.0  # it scored 0: the label was taken as written


def test_eval_ocr_names_the_row_of_a_bad_crop_or_country(data_dir: Path, tmp_path: Path) -> None:
    crop = data_dir / "ocr" / "crops" / "tunisia" / "0.jpg"
    (tmp_path / "notes.jpg").write_text("not a picture")
    labels = tmp_path / "x.csv"
    for row, message in [(f"{tmp_path / 'gone.jpg'},AB1,tn,t,val", f"image {tmp_path / 'gone.jpg'} does not exist"),
                         (f"{tmp_path},AB1,tn,t,val", f"{tmp_path} is a folder, not an image file"),
                         (f"{tmp_path / 'notes.jpg'},AB1,tn,t,val", f"{tmp_path / 'notes.jpg'} is not an image ("),
                         (f"{crop},AB1,xx,t,val", "unknown country code 'xx'; known codes: ")]:
        _rows(labels, OCR_HEADER, f"{crop},117T3989,tn,tunisia,val", row)
        result = CliRunner().invoke(main, ["eval", "ocr", "--data", str(labels), "--backend", "plateocr"])
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
        assert result.output.startswith(f"Error: {labels}:3: {message}") and len(result.output.splitlines()) == 1


E2E_HEADER = "image,xmin,ymin,xmax,ymax,text,legible,source"


def test_eval_e2e_refuses_empty_labels_and_unreadable_images_before_any_work(tmp_path: Path) -> None:
    labels = _rows(tmp_path / "labels.csv", E2E_HEADER)
    result = CliRunner().invoke(main, ["eval", "e2e", "--labels", str(labels), "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output == (f"Error: {labels}: no labelled plates (only a header?); add rows {E2E_HEADER}\n")
    _rows(labels, E2E_HEADER, "s/gone.jpg,1,1,40,12,AB123,yes,tn")
    result = CliRunner().invoke(main, ["eval", "e2e", "--labels", str(labels), "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output == (f"Error: {labels}:2: image {tmp_path / 's' / 'gone.jpg'} does not exist; fix the path "
                             "or remove the row\n")


def test_eval_e2e_limit_and_duplicate_rows(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    for name in ("276.jpg", "112.jpg"):
        (tmp_path / "s" / name).symlink_to(data_dir / "detect" / "images" / "tunisia" / name)
    plate = "s/276.jpg,210.8,265.0,338.8,313.2,162T9979,yes,tn"
    labels = _rows(tmp_path / "labels.csv", E2E_HEADER, plate, plate, "s/112.jpg,0,0,40,12,AB123,yes,tn")
    result = CliRunner().invoke(main, ["eval", "e2e", "--labels", str(labels), "--root", str(tmp_path), "--limit", "1",
                                       "--json"])
    assert result.exit_code == 0, result.output
    table = json.loads(result.stdout.strip().splitlines()[-1])["table"]
    # One image (--limit 1), its plate once: the repeated row would have made 'detected' 0.5.
    assert (table["all"]["images"], table["all"]["plates"], table["all"]["detected"]) == (1, 1, 1.0)
