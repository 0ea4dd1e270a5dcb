"""Web fixtures (as in Flask's flaskr tutorial): an app with a fake Reader, its test client and CLI runner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from numberplate.config import Config
from numberplate.pipeline import Reader
from numberplate.store.reads import ReadQuery
from numberplate.types import BoundingBox, Candidate, Detection, PlateText
from numberplate.web import create_app, get_state

PLATE_TEXT = "AB12CDE"
RUNNER_UP = "A812CDE"
# A fake plate box as fractions of the image size: (xmin, ymin, xmax, ymax).
CENTRE_BOX = (0.35, 0.55, 0.65, 0.7)

Box = tuple[float, float, float, float]


class FakeDetector:
    """Finds plates at fixed fractions of the image, whatever the image shows."""

    def __init__(self, boxes: tuple[Box, ...] = (CENTRE_BOX,)):
        self.boxes = boxes

    def detect(self, image: np.ndarray) -> list[Detection]:
        h, w = image.shape[:2]
        return [Detection(BoundingBox(x0 * w, y0 * h, x1 * w, y1 * h), 0.87) for x0, y0, x1, y1 in self.boxes]


class FakeRecognizer:
    """Reads every crop as PLATE_TEXT (93.4%, runner-up RUNNER_UP) and remembers what it was given."""

    name = "fake"

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[int, ...], str | None]] = []

    def read(self, crop: np.ndarray, country: str | None = None) -> PlateText | None:
        self.calls.append((crop.shape, country))
        return PlateText(
            PLATE_TEXT, 0.934, candidates=(Candidate(PLATE_TEXT, 0.934), Candidate(RUNNER_UP, 0.051)),
            country=country or "gb",
        )


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    """Build a test config: instance folder in ``tmp_path``, a fixed secret key unless changed."""

    def make(**changes: Any) -> Config:
        values: dict[str, Any] = {"instance_path": str(tmp_path / "instance"), "secret_key": "test-secret"}
        values.update(changes)
        return Config().replace(**values)

    return make


@pytest.fixture
def make_app(make_config: Callable[..., Config]) -> Callable[..., Flask]:
    """Build a test app from config changes; ``boxes`` sets the fake plates, ``fake=False`` the real lazy Reader."""

    def make(boxes: tuple[Box, ...] = (CENTRE_BOX,), fake: bool = True, **changes: Any) -> Flask:
        config = make_config(**changes)
        reader = Reader(detector=FakeDetector(boxes), recognizer=FakeRecognizer(), config=config) if fake else None
        app = create_app(config, reader=reader)
        app.config["TESTING"] = True
        return app

    return make


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def car_jpeg(data_dir: Path) -> bytes:
    """A real photo of a car (600x450 JPEG) from the shared detection data."""
    return (data_dir / "detect" / "images" / "openlpr" / "10.jpg").read_bytes()


def auth_for(app: Flask) -> dict[str, str]:
    """The Authorization header of a fresh API token of ``app``."""
    secret, _ = get_state(app).tokens.create("tests")
    return {"Authorization": f"Token {secret}"}


def stored_count(app: Flask) -> int:
    """How many reads ``app``'s history holds."""
    return get_state(app).reads.search(ReadQuery()).total
