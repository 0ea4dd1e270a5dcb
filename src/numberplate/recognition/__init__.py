"""Plate OCR backends behind the Recognizer protocol, created by name (``--ocr``)."""

from __future__ import annotations

import importlib

from numberplate.errors import ConfigError
from numberplate.recognition.base import Recognizer

# name -> "module:class"; a new backend is a new module plus one line here.
BACKENDS: dict[str, str] = {
    "plateocr": "numberplate.recognition.platenet_ocr:PlateOcrRecognizer",
    "rapidocr": "numberplate.recognition.rapidocr:RapidOcrRecognizer",
    "tesseract": "numberplate.recognition.tesseract:TesseractRecognizer",
}


def available_backends() -> list[str]:
    """Names accepted by :func:`create_recognizer` and ``--ocr``."""
    return sorted(BACKENDS)


def create_recognizer(name: str, **kwargs: object) -> Recognizer:
    """Instantiate the OCR backend called ``name``."""
    try:
        target = BACKENDS[name.lower()]
    except KeyError as e:
        raise ConfigError(f"unknown OCR backend {name!r}; choose one of {', '.join(available_backends())}") from e
    module_name, cls_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls(**kwargs)


__all__ = ["BACKENDS", "Recognizer", "available_backends", "create_recognizer"]
