"""Per-app state in ``app.extensions["numberplate"]``: config, the lazily loaded Reader, and the store."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, cast

from flask import Flask, current_app

from numberplate.config import Config
from numberplate.errors import ConfigError
from numberplate.store.db import Database, default_url
from numberplate.store.files import ImageFiles
from numberplate.store.reads import ReadStore
from numberplate.store.tokens import Tokens
from numberplate.store.vehicles import LookupCache, VehicleRegistry
from numberplate.store.watchlist import Watchlist

if TYPE_CHECKING:  # the pipeline (numpy, OpenCV, ONNX Runtime) is imported when the reader loads
    from numberplate.lookup.base import VehicleLookup
    from numberplate.pipeline import Reader
    from numberplate.recognition.base import Recognizer

log = logging.getLogger(__name__)

EXTENSION_KEY = "numberplate"


class NumberplateState:
    """What the web app shares between requests; one per app, never a module global.

    Args:
        config: the runtime settings the app was created with.
        reader: a ready Reader (tests inject fakes); when None, one is built from ``config`` on first use.
        lookup: a ready VehicleLookup (tests inject one); when None, built from ``config.lookup`` on first use.
    """

    def __init__(self, config: Config, reader: Reader | None = None, lookup: VehicleLookup | None = None):
        self.config = config
        self._reader = reader
        self._lookup = lookup
        self._recognizers: dict[str, Recognizer] = {}
        self._lock = threading.Lock()
        #: Blueprint names whose unsafe requests skip the CSRF check (e.g. a token-authenticated REST API).
        self.csrf_exempt: set[str] = set()
        instance = Path(config.instance_path).resolve()
        self.db = Database(config.database_url or default_url(instance))
        self.files = ImageFiles(instance / "images")
        from numberplate.notify.outbox import outbox_for

        # Every read the app stores queues its webhooks (if any) in its own transaction, however the app is run.
        self.reads = ReadStore(self.db, self.files, outbox_for(config))
        self.watchlist = Watchlist(self.db)
        self.tokens = Tokens(self.db)
        self.vehicles = VehicleRegistry(self.db)
        self.lookup_cache = LookupCache(self.db, timedelta(hours=config.lookup_cache_hours))
        self.started = time.time()
        from numberplate.web.metrics import Metrics

        self.metrics = Metrics()

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

    def get_lookup(self) -> VehicleLookup:
        """The vehicle lookup of ``config.lookup`` (cached in the database), built on first use."""
        if self._lookup is None:
            with self._lock:
                if self._lookup is None:
                    from numberplate.lookup import create_lookup
                    from numberplate.lookup.router import Unconfigured

                    try:
                        self._lookup = create_lookup(self.config, registry=self.vehicles, cache=self.lookup_cache)
                    except ConfigError as e:
                        # A misconfigured lookup must not fail reads: each comes back with this reason.
                        log.error("vehicle lookup disabled: %s", e)
                        self._lookup = Unconfigured(str(e))
        return self._lookup

    def close(self) -> None:
        """Drop the models and close every database connection (before a fork, or at shutdown)."""
        with self._lock:
            self._reader = None
            self._recognizers.clear()
            self._lookup = None
        self.db.close()

    def reader_for(self, ocr: str | None = None, lookup: bool = False) -> Reader:
        """A Reader sharing the loaded detector, with the OCR backend ``ocr`` and optionally the vehicle lookup."""
        from numberplate.pipeline import Reader
        from numberplate.recognition import create_recognizer

        base = self.get_reader()
        recognizer = base.recognizer
        if ocr and ocr != self.config.ocr:
            with self._lock:
                if ocr not in self._recognizers:
                    self._recognizers[ocr] = create_recognizer(ocr, fallback_below=self.config.ocr_fallback_below)
                recognizer = self._recognizers[ocr]
        if recognizer is base.recognizer and not lookup:
            return base
        return Reader(base.detector, recognizer, self.get_lookup() if lookup else None, self.config)


def get_state(app: Flask | None = None) -> NumberplateState:
    """The numberplate state of ``app`` (default: the app handling the current request)."""
    app = app or cast(Flask, current_app)
    return cast(NumberplateState, app.extensions[EXTENSION_KEY])


def get_reader() -> Reader:
    """The current app's Reader, loaded on first use."""
    return get_state().get_reader()
