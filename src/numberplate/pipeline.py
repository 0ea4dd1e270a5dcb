"""The Reader: image -> plate detections -> crops -> plate text -> optional vehicle lookup."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable

import numpy as np

from numberplate.config import Config, load_config
from numberplate.detection.base import Detector
from numberplate.errors import LookupError_, UnsupportedImageError
from numberplate.formats.patterns import AUTO, is_auto, patterns_for
from numberplate.imaging import ImageInput, load_image
from numberplate.lookup.base import VehicleLookup
from numberplate.recognition.base import Recognizer
from numberplate.recognition.crop import crop_plate, read_turned
from numberplate.types import Detection, ImageResult, PlateRead, PlateText, VehicleInfo

log = logging.getLogger(__name__)


def _finite(detection: Detection) -> bool:
    """Whether a detection's box, corners and confidence are all finite numbers."""
    b = detection.box
    values = [b.xmin, b.ymin, b.xmax, b.ymax, detection.confidence]
    values += [v for point in detection.corners or () for v in point]
    return all(math.isfinite(v) for v in values)


def _check_decoded(image: object) -> None:
    """Refuse what :meth:`Reader.read_array` cannot read: a detector fed a float or 16-bit array finds nothing."""
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
            and image.size):
        got = f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise UnsupportedImageError(f"read_array takes a non-empty RGB uint8 (H, W, 3) array, got a {got}; "
                                    "pass other images to read(), which converts them")


def default_detector(config: Config) -> Detector:
    """The shipped PlateNet detector, configured from ``config``, with the plate verifier unless
    ``config.verify_detections`` is off. ``detection_threshold`` applies to the reported, calibrated
    confidence (the verified score's, or the detector's without the verifier)."""
    from numberplate.detection.platenet import PlateNetDetector
    from numberplate.detection.verify import PlateVerifier, VerifiedDetector

    verifier = PlateVerifier(config.verifier_model) if config.verify_detections else None
    # A verified score is never above the detector's, so the detector needs no lower threshold than the final one.
    threshold = verifier.threshold if verifier is not None else None
    detector = PlateNetDetector(
        config.detector_model,
        side=config.detector_side,
        threshold=threshold,
        tile_large_images=config.tile_large_images,
        intra_op_threads=config.intra_op_threads,
        flip=config.detector_flip,
    )
    if config.detection_threshold is not None:
        # On the reported, calibrated scale; the models decide on their own scores.
        reported = verifier.calibration if verifier is not None else detector.calibration
        threshold = detector.threshold = reported.inverse(config.detection_threshold)
    return detector if verifier is None else VerifiedDetector(detector, verifier, threshold)


class Reader:
    """Finds and reads every number plate in an image.

    >>> Reader().read("car.jpg")  # doctest: +SKIP
    [PlateRead(...), ...]

    Args:
        detector: any object with ``detect(image) -> list[Detection]``; default: the shipped PlateNet.
        recognizer: any object with ``read(crop, country) -> PlateText | None``; default from ``config.ocr``
            (``"plateocr+rapidocr"``: a second backend for the plates the first is unsure of).
        lookup: an optional ``VehicleLookup``; when given, each read plate is looked up.
        config: runtime settings; default: ``load_config()`` (file, then ``NUMBERPLATE_*`` environment).
    """

    def __init__(
        self,
        detector: Detector | None = None,
        recognizer: Recognizer | None = None,
        lookup: VehicleLookup | None = None,
        config: Config | None = None,
    ):
        from numberplate.recognition import recognizer_for

        self.config = config or load_config()
        self.detector = detector or default_detector(self.config)
        self.recognizer = recognizer or recognizer_for(self.config)
        self.lookup = lookup

    def read(self, image: ImageInput, country: str | None = None) -> list[PlateRead]:
        """Every plate in ``image`` (a path, bytes, numpy RGB array or PIL image), most confident first."""
        return list(self.read_image(image, country).plates)

    def read_image(self, image: ImageInput, country: str | None = None) -> ImageResult:
        """Like :meth:`read`, with the image size and processing time."""
        t0 = time.perf_counter()
        arr = load_image(image, self.config.max_image_pixels)
        plates = self.read_array(arr, country)
        h, w = arr.shape[:2]
        return ImageResult(w, h, tuple(plates), (time.perf_counter() - t0) * 1000.0)

    def read_array(self, image: np.ndarray, country: str | None = None) -> list[PlateRead]:
        """Read an already decoded RGB uint8 array."""
        return [read for read, _ in self.read_with_crops(image, country)]

    def read_with_crops(self, image: np.ndarray, country: str | None = None) -> list[tuple[PlateRead, np.ndarray]]:
        """Like :meth:`read_array`, with each plate's crop as the recogniser saw it (for display or storage).

        Raises:
            UnsupportedImageError: ``image`` is not a non-empty RGB uint8 (H, W, 3) array.
        """
        _check_decoded(image)
        if country is not None and not isinstance(country, str):
            raise TypeError(f"country must be a country code such as 'gb' or 'us-ca', got {country!r}")
        # Without a country hint the reads are checked against every country's layouts (formats AUTO).
        country = country or self.config.country or AUTO
        patterns_for(country)  # an unknown code fails here, whether or not the image holds a plate
        out = []
        for det in self.detector.detect(image):
            if not _finite(det):
                # A custom detector's NaN would otherwise fail the crop, or the JSON of the whole answer.
                log.warning("skipped a detection with non-finite coordinates or confidence: %s", det)
                continue
            text, crop = self.read_detection(image, det, country)
            out.append((self.look_up(PlateRead(det, text), country), crop))
        return out

    def read_detection(self, image: np.ndarray, detection: Detection, country: str | None = None
                       ) -> tuple[PlateText | None, np.ndarray]:
        """Read one detected plate of an RGB image: its text (``None`` when unreadable) and the crop read."""
        crop = crop_plate(image, detection, level=self.config.rectify)
        text, crop = self._read_crop(crop, country or self.config.country or AUTO)
        if text is not None and not math.isfinite(text.confidence):
            log.warning("the recogniser gave a non-finite confidence for %r: left unread", text.text)
            text = None
        if text is not None and text.confidence < self.config.min_read_confidence:
            # Far, blurred or half-hidden plates read as noise (the default 0.08 was the calibrated value of the
            # session-15 model's own 0.05, under which no right reading on the e2e scenes scored; the session-19
            # model's own 0.09): found but unreadable, rather than with a made-up text.
            text = None
        return text, crop

    def _read_crop(self, crop: np.ndarray, country: str) -> tuple[PlateText | None, np.ndarray]:
        """The surest reading of a crop in each of its orientations, and the crop turned that way."""
        if crop.size <= 3:
            return None, crop
        return read_turned(self.recognizer, crop, country)

    def crops(self, image: np.ndarray, reads: Iterable[PlateRead]) -> list[np.ndarray]:
        """The plate crops of ``reads`` (cut from their boxes; a crop on its side is not turned)."""
        return [crop_plate(image, r.detection, level=self.config.rectify) for r in reads]

    def without_lookup(self) -> Reader:
        """This reader (same loaded models) without the vehicle lookup, e.g. for the frames of a video."""
        return self if self.lookup is None else Reader(self.detector, self.recognizer, None, self.config)

    def look_up(self, read: PlateRead, country: str | None = None) -> PlateRead:
        """``read`` with its vehicle from the lookup (or the lookup's error); unchanged without a lookup or text.

        A failed lookup never fails the read, whatever the lookup raises or returns: the plate comes back
        with the reason in ``lookup_error``.
        """
        if self.lookup is None or read.text is None or not read.text.text:
            return read
        plate = read.text.text
        try:
            # No country named (or "auto"): the country the read's layout says, where only one has it.
            vehicle = self.lookup.lookup(plate, read.text.country if is_auto(country) else country)
        except LookupError_ as e:
            log.info("lookup of %s failed: %s", plate, e)
            return PlateRead(read.detection, read.text, None, f"{type(e).__name__}: {e}")
        except Exception as e:  # a bug in the lookup (a custom one, or a provider's answer we did not foresee)
            log.exception("lookup of %s failed unexpectedly", plate)
            error = f"lookup failed unexpectedly ({type(e).__name__}: {str(e)[:200]}); see the log"
            return PlateRead(read.detection, read.text, None, error)
        if not isinstance(vehicle, VehicleInfo):
            log.error("lookup %r returned a %s for %s, not a VehicleInfo", self.lookup, type(vehicle).__name__, plate)
            error = f"lookup returned a {type(vehicle).__name__}, not a VehicleInfo; fix the lookup"
            return PlateRead(read.detection, read.text, None, error)
        return PlateRead(read.detection, read.text, vehicle, None)
