"""Several worker processes under gunicorn: each loads its own models once, before its first request."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from flask import Flask

from numberplate.config import Config

log = logging.getLogger(__name__)

# A read can take a few seconds on a slow CPU with tiling; gunicorn's default 30 s kills workers too eagerly.
WORKER_TIMEOUT_S = 120


def run_workers(config: Config, app_factory: Callable[[], Flask], on_ready: Callable[[str], None]) -> None:
    """Serve ``app_factory()`` on ``config.host:config.port`` with ``config.workers`` processes of
    ``config.threads`` threads until SIGINT/SIGTERM; ``on_ready(url)`` is called once listening.

    The app (its models and database connections) is built in each worker after the fork, never shared
    across processes: ONNX Runtime sessions and SQLite connections do not survive a fork.
    """
    from gunicorn.app.base import BaseApplication

    def when_ready(server: Any) -> None:
        host, port = server.LISTENERS[0].sock.getsockname()[:2]
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        on_ready(f"http://{f'[{host}]' if ':' in host else host}:{port}/")

    def worker_exit(server: Any, worker: Any) -> None:
        # The worker has finished its requests; without this its interpreter shutdown waits on native
        # threads (ONNX Runtime) until gunicorn's graceful timeout kills it. Every read is already
        # committed (and SQLite's WAL survives even a SIGKILL), so nothing is lost by leaving now.
        logging.shutdown()
        os._exit(0)

    options = {
        "bind": f"[{config.host}]:{config.port}" if ":" in config.host else f"{config.host}:{config.port}",
        "workers": config.workers,
        "worker_class": "gthread",
        "threads": config.threads,
        "timeout": WORKER_TIMEOUT_S,
        "graceful_timeout": 30,
        "keepalive": 5,
        "max_requests": 0,
        "when_ready": when_ready,
        "worker_exit": worker_exit,
        "proc_name": "numberplate",
        "errorlog": "-",
        "loglevel": "info",
    }

    class Application(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)
            if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 24: one fixed socket path per user
                self.cfg.set("control_socket_disable", True)  # would clash between servers on one machine

        def load(self) -> Flask:
            from numberplate.web.state import get_state

            app = app_factory()
            get_state(app).get_reader()  # models load here, in the worker, before it accepts requests
            return app

    Application().run()
