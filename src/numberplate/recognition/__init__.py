"""Plate OCR backends behind the Recognizer protocol, created by name (``--ocr``)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from numberplate.errors import ConfigError
from numberplate.recognition.base import Recognizer

if TYPE_CHECKING:
    from numberplate.config import Config

# name -> "module:class"; a new backend is a new module plus one line here.
BACKENDS: dict[str, str] = {
    "plateocr": "numberplate.recognition.platenet_ocr:PlateOcrRecognizer",
    "rapidocr": "numberplate.recognition.rapidocr:RapidOcrRecognizer",
    "tesseract": "numberplate.recognition.tesseract:TesseractRecognizer",
}


# The default reader: our model for every plate, RapidOCR as well for the plates it is unsure of.
DEFAULT_CASCADE = "plateocr+rapidocr"


def available_backends() -> list[str]:
    """Names accepted by :func:`create_recognizer` and ``--ocr``: each backend, then the default cascade."""
    return [*sorted(BACKENDS), DEFAULT_CASCADE]


def create_recognizer(name: str, *, fallback_below: float | None = None, plateocr_model: str | None = None,
                      **kwargs: object) -> Recognizer:
    """Instantiate the OCR backend called ``name``, or a cascade ``"primary+fallback"``.

    Args:
        name: a key of :data:`BACKENDS`, or two of them joined by ``+``
            (:class:`~numberplate.recognition.cascade.CascadeRecognizer`).
        fallback_below: for a cascade, the primary confidence under which the fallback reads too.
        plateocr_model: an ONNX model for the ``plateocr`` backend wherever it stands in ``name``
            (``None``: the shipped one); other backends ignore it.
        **kwargs: passed to the backend's constructor (the primary's, for a cascade).

    Raises:
        ConfigError: an unknown backend name, or a malformed cascade.
    """
    if "+" in name:
        from numberplate.recognition.cascade import DEFAULT_BELOW, CascadeRecognizer

        parts = [p.strip().lower() for p in name.split("+")]
        if len(parts) != 2 or parts[0] == parts[1] or not all(p in BACKENDS for p in parts):
            raise ConfigError(f"OCR cascade {name!r} must be two different backends joined by '+' "
                              f"(e.g. {DEFAULT_CASCADE}); backends: {', '.join(sorted(BACKENDS))}")
        below = DEFAULT_BELOW if fallback_below is None else fallback_below
        primary = create_recognizer(parts[0], fallback_below=None, plateocr_model=plateocr_model, **kwargs)
        factory = (lambda: create_recognizer(parts[1], plateocr_model=plateocr_model)) if plateocr_model else None
        return CascadeRecognizer(primary, parts[1], below, factory)
    try:
        target = BACKENDS[name.lower()]
    except KeyError as e:
        raise ConfigError(f"unknown OCR backend {name!r}; choose one of {', '.join(available_backends())}") from e
    module_name, cls_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    if plateocr_model and name.lower() == "plateocr":
        kwargs = {"model_path": plateocr_model, **kwargs}
    return cls(**kwargs)


def recognizer_for(config: Config) -> Recognizer:
    """The reader ``config`` names (``ocr``, with ``ocr_fallback_below`` for a cascade).

    ``ocr_model`` replaces the shipped model of the ``plateocr`` backend (primary or fallback).

    Raises:
        ConfigError: an unknown backend name.
        ModelLoadError: ``ocr_model`` cannot be loaded.
    """
    return create_recognizer(config.ocr, fallback_below=config.ocr_fallback_below, plateocr_model=config.ocr_model)


__all__ = ["BACKENDS", "DEFAULT_CASCADE", "Recognizer", "available_backends", "create_recognizer", "recognizer_for"]
