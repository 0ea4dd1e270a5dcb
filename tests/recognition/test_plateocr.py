"""The plateocr backend: alphabet, slot decoding, pattern check, ONNX loading and batching, shipped-model accuracy."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from numberplate.config import Config
from numberplate.errors import ModelLoadError, UnsupportedImageError
from numberplate.formats import patterns_for
from numberplate.formats.patterns import UnknownCountryError
from numberplate.imaging import load_image
from numberplate.recognition import available_backends, create_recognizer, recognizer_for
from numberplate.recognition.alphabet import (
    ALPHABET,
    CN_PROVINCES,
    MAX_SLOTS,
    PAD,
    PAD_INDEX,
    decode,
    encode,
    in_alphabet,
)
from numberplate.recognition.cascade import CascadeRecognizer
from numberplate.recognition.platenet_ocr import (
    DEFAULT_MODEL,
    DUBIOUS_PROVINCE,
    PlateOcrRecognizer,
    prepare,
    read_probs,
    slot_alternatives,
)
from numberplate.types import PlateText
from tests.fakes import write_stand_in_model

V = len(ALPHABET)


def one_hot_probs(text: str, p: float = 0.9) -> np.ndarray:
    """Slot probabilities reading ``text``: ``p`` on each character (pad after it), the rest spread evenly."""
    probs = np.full((MAX_SLOTS, V), (1 - p) / (V - 1), np.float32)
    for slot, index in enumerate(encode(text)):
        probs[slot, index] = p
    return probs


# ---------------------------------------------------------------- alphabet


@pytest.mark.parametrize("text", ["ABC1234", "117T3989", "京A12345", "皖AF513U", "1", "0123456789"])
def test_encode_decode_round_trip(text: str) -> None:
    slots = encode(text)
    assert len(slots) == MAX_SLOTS
    assert slots[len(text):] == [PAD_INDEX] * (MAX_SLOTS - len(text))
    assert decode(slots) == text


def test_pad_is_last_and_dropped_wherever_it_is() -> None:
    assert ALPHABET[-1] == PAD and PAD_INDEX == V - 1
    assert len(set(ALPHABET)) == V == 10 + 26 + 31 + 1
    assert decode([ALPHABET.index("A"), PAD_INDEX, ALPHABET.index("7"), PAD_INDEX]) == "A7"
    assert decode([PAD_INDEX] * MAX_SLOTS) == ""


def test_encode_rejects_what_the_model_cannot_read() -> None:
    with pytest.raises(ValueError, match="at most 10"):
        encode("ABCDEFGHIJK")
    with pytest.raises(ValueError, match="not in the OCR alphabet"):
        encode("AB-123")
    assert not in_alphabet("ab123") and not in_alphabet(PAD) and in_alphabet("沪A12345")


def test_alphabet_covers_the_synthetic_labels_and_chinese_patterns() -> None:
    from numberplate.train.synth.layouts import LABEL_CHARSET

    assert set(LABEL_CHARSET) == set(ALPHABET) - {PAD}
    cn_provinces = json.loads((Path(__file__).parents[2] / "src/numberplate/formats/data/cn.json").read_text())
    assert cn_provinces["tokens"]["%"] == CN_PROVINCES


def test_every_ocr_label_is_representable(data_dir: Path) -> None:
    with open(data_dir / "ocr" / "labels.csv", newline="", encoding="utf-8") as fh:
        texts = [row["text"] for row in csv.DictReader(fh)]
    assert texts and all(in_alphabet(t) for t in texts), [t for t in texts if not in_alphabet(t)][:5]


# ---------------------------------------------------------------- slot decoding


def test_slot_alternatives_drop_pad_slots_and_keep_top_k() -> None:
    probs = one_hot_probs("AB12")
    probs[1, ALPHABET.index("8")] = 0.05  # B's look-alike is the runner-up
    alts = slot_alternatives(probs, top_k=3)
    assert len(alts) == 4
    assert all(len(pos) == 3 for pos in alts)
    assert [pos[0][0] for pos in alts] == list("AB12")
    assert alts[1][1] == ("8", pytest.approx(0.05))
    for pos in alts:
        assert all(ch != PAD for ch, _ in pos)
        assert [p for _, p in pos] == sorted((p for _, p in pos), reverse=True)


def test_pad_can_sit_between_characters() -> None:
    probs = one_hot_probs("AB12")
    probs[1] = one_hot_probs("")[1]  # slot 1 reads as pad
    assert "".join(pos[0][0] for pos in slot_alternatives(probs)) == "A12"


def test_all_pad_reads_as_none() -> None:
    probs = one_hot_probs("")
    assert slot_alternatives(probs) == []
    assert read_probs(probs, "br") is None


def test_read_probs_uses_the_country_patterns() -> None:
    probs = one_hot_probs("0BC1234", p=0.9)
    probs[0, ALPHABET.index("O")] = 0.08
    plain = read_probs(probs, None)
    checked = read_probs(probs, "br")
    assert plain is not None and checked is not None
    assert plain.text == "0BC1234" and plain.pattern_matched is None
    assert checked.text == "OBC1234" and checked.pattern_matched is True
    assert len(checked.char_confidences) == 7 and len(checked.candidates) >= 2
    assert sum(c.confidence for c in checked.candidates) <= 1.0 + 1e-6
    with pytest.raises(UnknownCountryError):
        read_probs(probs, "xx")


def test_an_unsure_leading_chinese_character_is_dropped_unless_the_hint_is_china() -> None:
    # A sticker at the left edge of a Latin plate read as a province, unsurely (openlpr/178.jpg).
    probs = one_hot_probs("鲁KHAN91", p=0.95)
    probs[0] = 0.3 / (V - 3)
    probs[0, [ALPHABET.index(c) for c in "鲁粤皖"]] = 0.25, 0.25, 0.2
    probs[0, ALPHABET.index("鲁")] += 0.01
    assert probs[0].argmax() == ALPHABET.index("鲁") and probs[0].max() < DUBIOUS_PROVINCE
    for country in (None, "auto", "us"):
        reading = read_probs(probs, country)
        assert reading is not None and reading.text == "KHAN91", country
    reading = read_probs(probs, "cn")
    assert reading is not None and reading.text.startswith("鲁")
    # A sure province stands without a hint.
    sure = read_probs(one_hot_probs("皖A12345", p=0.95), None)
    assert sure is not None and sure.text == "皖A12345"


# ---------------------------------------------------------------- the recogniser on a stand-in ONNX graph


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory: pytest.TempPathFactory) -> PlateOcrRecognizer:
    path = tmp_path_factory.mktemp("plateocr") / "plate_ocr.onnx"
    write_stand_in_model(path, "0BC1234", "京A12345")
    return PlateOcrRecognizer(path)


def crop(level: int, shape: tuple[int, int] = (40, 130)) -> np.ndarray:
    """A plate-like crop of mean brightness ``level`` with enough contrast not to count as blank."""
    img = np.full((*shape, 3), level, np.uint8)
    img[shape[0] // 3, :] = min(level + 40, 255) if level < 128 else level - 40
    return img


def test_backend_is_registered() -> None:
    assert "plateocr" in available_backends()


def test_missing_model_is_a_model_load_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        create_recognizer("plateocr", model_path=tmp_path / "nope.onnx")


def test_config_ocr_model_replaces_the_shipped_model(tmp_path: Path) -> None:
    path = tmp_path / "mine.onnx"
    write_stand_in_model(path, "0BC1234", "A12345")
    alone = recognizer_for(Config(ocr="plateocr", ocr_model=str(path)))
    first = recognizer_for(Config(ocr="plateocr+rapidocr", ocr_model=str(path)))
    second = recognizer_for(Config(ocr="rapidocr+plateocr", ocr_model=str(path)))
    assert isinstance(first, CascadeRecognizer) and isinstance(second, CascadeRecognizer)
    for own in (alone, first.primary, second._factory()):  # the fallback is built on first use
        assert isinstance(own, PlateOcrRecognizer)
        read = own.read(crop(220))
        assert read is not None and read.text == "A12345"
    with pytest.raises(ModelLoadError, match="does not exist"):
        recognizer_for(Config(ocr="plateocr", ocr_model=str(tmp_path / "nope.onnx")))
    assert recognizer_for(Config(ocr="tesseract", ocr_model=str(tmp_path / "nope.onnx"))).name == "tesseract"


def test_metadata_that_does_not_fit_the_graph_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plate_ocr.onnx"
    write_stand_in_model(path, "A1", "B2")
    meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    meta["input_width"] = 128
    path.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="re-export"):
        PlateOcrRecognizer(path)


def test_read_applies_country_patterns(stand_in: PlateOcrRecognizer) -> None:
    plain = stand_in.read(crop(20))
    assert isinstance(plain, PlateText) and plain.text == "0BC1234"
    checked = stand_in.read(crop(20), "br")
    assert checked is not None and checked.text == "OBC1234" and checked.pattern_matched
    assert patterns_for("br")  # the correction above came from Brazil's pattern data


def test_read_batch_keeps_order_and_matches_read(stand_in: PlateOcrRecognizer) -> None:
    crops = [crop(20), crop(235, (24, 94)), np.zeros((30, 90, 3), np.uint8), crop(25, (120, 250))]
    reads = stand_in.read_batch(crops, ["br", "cn", None, None])
    assert [r.text if r else None for r in reads] == ["OBC1234", "京A12345", None, "0BC1234"]
    assert reads[1] == stand_in.read(crops[1], "cn")
    with pytest.raises(ValueError, match="2 country hints given for 4 crops"):
        stand_in.read_batch(crops, ["br", None])


def test_grey_and_rgba_crops_are_accepted_other_arrays_refused(stand_in: PlateOcrRecognizer) -> None:
    grey = crop(20)[:, :, 0]
    rgba = np.dstack([crop(20), np.full(crop(20).shape[:2], 255, np.uint8)])
    assert stand_in.read(grey) == stand_in.read(rgba) == stand_in.read(crop(20))
    with pytest.raises(UnsupportedImageError, match="uint8"):
        stand_in.read(crop(20).astype(np.float32))
    with pytest.raises(UnsupportedImageError, match="shape"):
        stand_in.read(np.zeros((4, 20, 20, 3), np.uint8))


def test_prepare_resizes_to_the_input_size() -> None:
    assert prepare(crop(20, (195, 320)), (64, 160)).shape == (64, 160, 3)  # type: ignore[union-attr]
    assert prepare(crop(20, (24, 94)), (64, 160)).shape == (64, 160, 3)  # type: ignore[union-attr]
    assert prepare(np.zeros((1, 50, 3), np.uint8), (64, 160)) is None


# ---------------------------------------------------------------- the shipped model

# Regression floors for the shipped model, per source of the shared val split: a little under what
# it reads today (docs/results.md). Raise them with each better model; the targets
# (br and tunisia 0.98, us 0.92) are measured by `numberplate eval ocr`, not asserted here.
FLOORS = {"br": 0.87, "tunisia": 0.87, "us": 0.82, "cn": 0.89}


@pytest.mark.skipif(not DEFAULT_MODEL.is_file(), reason="no shipped plate_ocr.onnx yet (train and export it)")
def test_shipped_model_accuracy_on_val(data_dir: Path) -> None:
    recognizer = PlateOcrRecognizer()
    with open(data_dir / "ocr" / "labels.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "val"]
    hits: dict[str, list[bool]] = defaultdict(list)
    for i in range(0, len(rows), 32):
        chunk = rows[i:i + 32]
        crops = [load_image(data_dir / r["image"]) for r in chunk]
        reads = recognizer.read_batch(crops, [r["country"].split("-")[0] for r in chunk])
        for r, read in zip(chunk, reads):
            hits[r["source"]].append(read is not None and read.text == r["text"])
    exact = {source: float(np.mean(h)) for source, h in hits.items()}
    for source, floor in FLOORS.items():
        assert exact[source] >= floor, exact
