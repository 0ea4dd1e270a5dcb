"""PlateOCR backend ("plateocr"): the project's own fixed-slot plate reader on ONNX Runtime."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from numberplate.calibration import IDENTITY
from numberplate.detection.platenet import MODELS_DIR, calibration_from, create_session, model_metadata
from numberplate.errors import ModelLoadError
from numberplate.formats import postprocess
from numberplate.recognition.alphabet import ALPHABET, MAX_SLOTS
from numberplate.recognition.crop import as_rgb_crop
from numberplate.recognition.text import is_china, is_cjk
from numberplate.types import PlateText

log = logging.getLogger(__name__)

DEFAULT_MODEL = MODELS_DIR / "plate_ocr.onnx"
DEFAULT_INPUT_SIZE = (64, 160)  # height, width
DEFAULT_TOP_K = 3
# A leading Chinese character read less surely than this is dropped unless the hint is China: on the
# Chinese crops (train + val) 99% of province characters score 0.94 or more; on Latin plates the model
# takes a sticker or badge at the plate's left edge for one (openlpr/178.jpg: a Californian KHAN91 read
# 鲁KHAN91, province 0.17).
DUBIOUS_PROVINCE = 0.3

Alternatives = list[list[tuple[str, float]]]


def prepare(crop: np.ndarray, size: tuple[int, int]) -> np.ndarray | None:
    """A plate crop as the model's input: RGB uint8 resized (stretched) to ``size`` = (height, width).

    Training evaluates with this same function, so that training and inference see identical inputs.

    Returns:
        The (height, width, 3) uint8 image, or ``None`` for an empty or blank crop.

    Raises:
        UnsupportedImageError: ``crop`` is not an (H, W, 3) RGB, (H, W, 4) RGBA or (H, W) grey uint8 array.
    """
    rgb = as_rgb_crop(crop)
    if rgb is None:
        return None
    h, w = rgb.shape[:2]
    out_h, out_w = size
    shrinking = w > out_w and h > out_h
    return cv2.resize(rgb, (out_w, out_h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def slot_alternatives(probs: np.ndarray, alphabet: str = ALPHABET, top_k: int = DEFAULT_TOP_K) -> Alternatives:
    """Per-position (character, probability) alternatives of one plate's slot probabilities.

    A slot whose most probable symbol is the pad (the last alphabet entry) is dropped; the kept slots
    list their ``top_k`` most probable characters, pad excluded, best first.

    Args:
        probs: (slots, len(alphabet)) softmax output for one plate.
        alphabet: characters by index, the pad symbol last.
        top_k: alternatives kept per position.

    Returns:
        One list per kept slot, in reading order; empty when every slot is pad.
    """
    pad = len(alphabet) - 1
    kept = probs[probs.argmax(axis=1) != pad, :pad]
    # All slots at once (a tenth of the per-row loop's time); each row sorts as np.argsort(-row) alone would.
    order = np.argsort(-kept, axis=1)[:, :top_k]
    values = np.take_along_axis(kept, order, axis=1).tolist()
    return [[(alphabet[i], p) for i, p in zip(idx, vals)] for idx, vals in zip(order.tolist(), values)]


def read_probs(
    probs: np.ndarray, country: str | None = None, alphabet: str = ALPHABET, top_k: int = DEFAULT_TOP_K
) -> PlateText | None:
    """The reading of one plate's slot probabilities, ranked and pattern-checked by ``formats.postprocess``.

    Unless ``country`` is China, a leading Chinese character less sure than ``DUBIOUS_PROVINCE`` is left out.

    Returns:
        The plate text with candidates and per-character confidences, or ``None`` when every slot is pad.

    Raises:
        UnknownCountryError: ``country`` has no pattern data.
    """
    alternatives = slot_alternatives(probs, alphabet, top_k)
    if alternatives and not is_china(country) and is_cjk(alternatives[0][0][0]) \
            and alternatives[0][0][1] < DUBIOUS_PROVINCE:
        alternatives = alternatives[1:]
    if not alternatives:
        return None
    return postprocess(alternatives, country, top_k=top_k)


class PlateOcrRecognizer:
    """Reads single- and two-line plate crops with the project's own PlateOCR model (see models/plate_ocr.json).

    The crop is resized to the model's input size and classified into a fixed number of character
    slots in one pass; the top alternatives of every non-pad slot go through
    :func:`numberplate.formats.postprocess`, which ranks the candidates and fixes look-alike
    characters that the country's plate layouts rule out.
    """

    name = "plateocr"

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        top_k: int = DEFAULT_TOP_K,
        providers: Sequence[str] | None = None,
        intra_op_threads: int = 1,
    ):
        """Load the ONNX model once.

        Args:
            model_path: the ``.onnx`` file; default: the shipped ``models/plate_ocr.onnx``. Its
                ``.json`` beside it gives the checksum, input size and alphabet.
            top_k: alternatives per character passed to the pattern check.
            providers: ONNX Runtime execution providers (default CPU).
            intra_op_threads: threads per inference; the model is small, so one is fastest per plate.

        Raises:
            ModelLoadError: the model file is missing, corrupt, or its metadata does not fit it.
        """
        if top_k < 1:
            raise ValueError(f"top_k={top_k} must be at least 1")
        path = Path(model_path) if model_path else DEFAULT_MODEL
        self.session = create_session(path, providers, intra_op_threads)
        meta = model_metadata(path)
        self.alphabet: str = meta.get("alphabet", ALPHABET)
        self.max_slots = int(meta.get("max_slots", MAX_SLOTS))
        self.input_size: tuple[int, int] = (
            int(meta.get("input_height", DEFAULT_INPUT_SIZE[0])),
            int(meta.get("input_width", DEFAULT_INPUT_SIZE[1])),
        )
        self.top_k = top_k
        # Platt scaling of the confidences (calibration.py): of this model's readings, and of RapidOCR's
        # readings that win in the plateocr+rapidocr cascade.
        self.calibration = calibration_from(meta, path)
        self.fallback_calibration = calibration_from(meta, path, "fallback")
        inp, out = self.session.get_inputs()[0], self.session.get_outputs()[0]
        self._input = inp.name
        expected = [self.max_slots, len(self.alphabet)]
        if list(out.shape[1:]) != expected or list(inp.shape[1:]) != [*self.input_size, 3]:
            raise ModelLoadError(
                f"{path}: input {inp.shape} / output {out.shape} do not fit its metadata (input "
                f"{[*self.input_size, 3]}, output {expected}); re-export the model with `numberplate train export-ocr`"
            )

    def probabilities(self, crops: Sequence[np.ndarray]) -> list[np.ndarray | None]:
        """Slot probabilities, (max_slots, len(alphabet)) per crop, in one batched run; ``None`` for blank crops.

        Raises:
            UnsupportedImageError: a crop is not an RGB, RGBA or grey uint8 array.
        """
        prepared = [prepare(c, self.input_size) for c in crops]
        batch = [p for p in prepared if p is not None]
        if not batch:
            return [None] * len(prepared)
        probs = iter(self.session.run(None, {self._input: np.stack(batch)})[0])
        return [next(probs) if p is not None else None for p in prepared]

    def read(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
        """Read an RGB uint8 plate crop (one or two lines); ``None`` when blank or every slot reads as pad.

        The confidence is calibrated (:attr:`calibration`, fitted on synthetic plates); :meth:`read_uncalibrated`
        gives the model's own.

        Args:
            crop: the plate crop, (H, W, 3) RGB (or grey, or RGBA).
            country: country code hint (``"br"``, ``"us"``...); ``None`` changes no character.

        Raises:
            UnsupportedImageError: ``crop`` is not a uint8 image array.
            UnknownCountryError: ``country`` has no pattern data.
        """
        return self.read_batch([crop], [country])[0]

    def read_uncalibrated(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
        """:meth:`read` with the model's own confidence (what the cascade decides on)."""
        return self.read_batch([crop], [country], calibrated=False)[0]

    def read_batch(
        self, crops: Sequence[np.ndarray], countries: Sequence[str | None] | None = None, *, calibrated: bool = True
    ) -> list[PlateText | None]:
        """Read many crops in one model run (faster per plate than :meth:`read`).

        Args:
            crops: RGB uint8 plate crops of any sizes.
            countries: one country hint per crop, or ``None`` for no hints.
            calibrated: calibrate the confidences (:attr:`calibration`); ``False``: the model's own.

        Raises:
            ValueError: ``countries`` is not as long as ``crops``.
            UnsupportedImageError: a crop is not a uint8 image array.
            UnknownCountryError: a country has no pattern data.
        """
        if countries is None:
            countries = [None] * len(crops)
        if len(countries) != len(crops):
            raise ValueError(f"{len(countries)} country hints given for {len(crops)} crops")
        calibration = self.calibration if calibrated else IDENTITY
        return [
            None if p is None else calibration.apply(read_probs(p, c, self.alphabet, self.top_k))
            for p, c in zip(self.probabilities(crops), countries)
        ]
