"""Prometheus metrics at ``/metrics``: requests by endpoint and status, latency histogram, plates read.

Counters are per worker process: every per-process sample carries a ``worker`` label (the process id), so that
a scrape of another worker is a different series, not a counter reset; sum over ``worker`` in queries. The stored
totals (reads, plates) come from the database and so are the same whichever worker answers (no ``worker`` label).
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict

from flask import Flask, Response, g, request

from numberplate.web.state import get_state

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""The ``method`` label's own values; any other method a client sends counts as ``other``, so that clients
cannot add a series (kept until the process ends) per made-up method."""


class Metrics:
    """Thread-safe request counters and a latency histogram for one process.

    Args:
        worker: the ``worker`` label of this process's samples; None: its process id at each render (the app
            may be built before gunicorn forks its workers).
    """

    def __init__(self, worker: str | None = None) -> None:
        self.worker = worker
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency_buckets: dict[str, list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        self.latency_sum: dict[str, float] = defaultdict(float)
        self.latency_count: dict[str, int] = defaultdict(int)
        self.plates_read = 0

    def observe(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        """Count one finished request; a method outside :data:`METHODS` is counted as ``other``."""
        if method not in METHODS:
            method = "other"
        with self._lock:
            self.requests[(endpoint, method, status)] += 1
            buckets = self.latency_buckets[endpoint]
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    buckets[i] += 1
            self.latency_sum[endpoint] += seconds
            self.latency_count[endpoint] += 1

    def add_plates(self, n: int) -> None:
        """Count plates read (stored or not)."""
        with self._lock:
            self.plates_read += n

    def render(self, stored: dict[str, int], models_loaded: bool, uptime: float) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        w = f'worker="{self.worker or os.getpid()}"'
        lines = [
            "# HELP numberplate_http_requests_total HTTP requests answered, by endpoint, method and status.",
            "# TYPE numberplate_http_requests_total counter",
        ]
        with self._lock:
            for (endpoint, method, status), n in sorted(self.requests.items()):
                lines.append(
                    f'numberplate_http_requests_total{{endpoint="{endpoint}",method="{method}",status="{status}",{w}}} '
                    f"{n}"
                )
            lines += [
                "# HELP numberplate_http_request_seconds Time this worker took to answer a request, by endpoint.",
                "# TYPE numberplate_http_request_seconds histogram",
            ]
            for endpoint in sorted(self.latency_count):
                for bound, n in zip(BUCKETS, self.latency_buckets[endpoint]):
                    lines.append(
                        f'numberplate_http_request_seconds_bucket{{endpoint="{endpoint}",le="{bound}",{w}}} {n}'
                    )
                count = self.latency_count[endpoint]
                lines.append(f'numberplate_http_request_seconds_bucket{{endpoint="{endpoint}",le="+Inf",{w}}} {count}')
                total = self.latency_sum[endpoint]
                lines.append(f'numberplate_http_request_seconds_sum{{endpoint="{endpoint}",{w}}} {total:.6f}')
                lines.append(f'numberplate_http_request_seconds_count{{endpoint="{endpoint}",{w}}} {count}')
            plates = self.plates_read
        lines += [
            "# HELP numberplate_plates_read_total Plates read by this worker process.",
            "# TYPE numberplate_plates_read_total counter",
            f"numberplate_plates_read_total{{{w}}} {plates}",
            "# HELP numberplate_stored_reads Reads in the history (from the database: the same in every worker).",
            "# TYPE numberplate_stored_reads gauge",
            f"numberplate_stored_reads {stored['reads']}",
            "# HELP numberplate_stored_plates Plates in the history (from the database: the same in every worker).",
            "# TYPE numberplate_stored_plates gauge",
            f"numberplate_stored_plates {stored['plates']}",
            "# HELP numberplate_models_loaded Whether this process has loaded its models.",
            "# TYPE numberplate_models_loaded gauge",
            f"numberplate_models_loaded{{{w}}} {int(models_loaded)}",
            "# HELP numberplate_uptime_seconds Seconds since this process created the app.",
            "# TYPE numberplate_uptime_seconds gauge",
            f"numberplate_uptime_seconds{{{w}}} {uptime:.1f}",
        ]
        return "\n".join(lines) + "\n"


def init_app(app: Flask, metrics: Metrics) -> None:
    """Time every request and serve ``GET /metrics``."""

    @app.before_request
    def _start() -> None:
        g.metrics_t0 = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        t0 = g.get("metrics_t0")
        if t0 is not None:
            endpoint = request.endpoint or "unmatched"  # never the path: one label for every unknown URL
            metrics.observe(endpoint, request.method, response.status_code, time.perf_counter() - t0)
        return response

    def metrics_view() -> Response:
        state = get_state()
        text = metrics.render(state.reads.counts(), state.reader_loaded, time.time() - state.started)
        return Response(text, mimetype="text/plain", headers={"Cache-Control": "no-store"},
                        content_type="text/plain; version=0.0.4; charset=utf-8")

    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])
