"""numberplate: find and read number plates in images, with a CLI, a web app and a Python API."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from numberplate.config import Config, load_config
from numberplate.errors import (
    ImageDecodeError,
    ImageError,
    ImageTooLargeError,
    ModelLoadError,
    NumberplateError,
    UnsupportedImageError,
)
from numberplate.imaging import load_image
from numberplate.pipeline import Reader
from numberplate.types import BoundingBox, Candidate, Detection, ImageResult, PlateRead, PlateText, VehicleInfo

try:
    __version__ = version("numberplate")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"

__all__ = [
    "BoundingBox",
    "Candidate",
    "Config",
    "Detection",
    "ImageDecodeError",
    "ImageError",
    "ImageResult",
    "ImageTooLargeError",
    "ModelLoadError",
    "NumberplateError",
    "PlateRead",
    "PlateText",
    "Reader",
    "UnsupportedImageError",
    "VehicleInfo",
    "__version__",
    "load_config",
    "load_image",
]
