"""Shared fixtures: where the shared data lives, and small real images from it."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import postgres_server

REPO = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    """The shared labelled data (``$NUMBERPLATE_DATA``, default ``../shared/data`` beside the repo)."""
    return Path(os.environ.get("NUMBERPLATE_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = data_root()
    if not (root / "detect" / "labels.csv").is_file():
        pytest.fail(f"shared data not found at {root}; set NUMBERPLATE_DATA")
    return root


@pytest.fixture(scope="session")
def detect_rows(data_dir: Path) -> list[dict[str, str]]:
    with open(data_dir / "detect" / "labels.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One PostgreSQL cluster for the whole run (the store and webhook tests on PostgreSQL share it)."""
    with postgres_server() as url:
        yield url
