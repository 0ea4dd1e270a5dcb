"""Per-app state in ``app.extensions["numberplate"]``: the config and the lazily loaded Reader."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, cast

from flask import Flask, current_app

from numberplate.config import Config

if TYPE_CHECKING:  # the pipeline (numpy, OpenCV, ONNX Runtime) is imported when the reader loads
    from numberplate.pipeline import Reader

log = logging.getLogger(__name__)

EXTENSION_KEY = "numberplate"


class NumberplateState:
    """What the web app shares between requests; one per app, never a module global.

    Args:
        config: the runtime settings the app was created with.
        reader: a ready Reader (tests inject fakes); when None, one is built from ``config`` on first use.
    """

    def __init__(self, config: Config, reader: Reader | None = None):
        self.config = config
        self._reader = reader
        self._lock = threading.Lock()
        #: Blueprint names whose unsafe requests skip the CSRF check (e.g. a token-authenticated REST API).
        self.csrf_exempt: set[str] = set()

    @property
    def reader_loaded(self) -> bool:
        """Whether the Reader (and so its models) is already in memory."""
        return self._reader is not None

    def get_reader(self) -> Reader:
        """The Reader, loading its models on the first call (thread-safe: they load once)."""
        if self._reader is None:
            with self._lock:
                if self._reader is None:
                    from numberplate.pipeline import Reader

                    t0 = time.perf_counter()
                    self._reader = Reader(config=self.config)
                    log.info("plate reader loaded in %.1f s", time.perf_counter() - t0)
        return self._reader


def get_state(app: Flask | None = None) -> NumberplateState:
    """The numberplate state of ``app`` (default: the app handling the current request)."""
    app = app or cast(Flask, current_app)
    return cast(NumberplateState, app.extensions[EXTENSION_KEY])


def get_reader() -> Reader:
    """The current app's Reader, loaded on first use."""
    return get_state().get_reader()
