"""`numberplate serve` as users run it: gunicorn worker processes with the real models, and a server killed
with SIGKILL in the middle of requests loses nothing already stored and leaves no read without its files."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


class Server:
    """A `numberplate serve` subprocess in its own process group."""

    def __init__(self, instance: Path, workers: int):
        env = {**os.environ, "NUMBERPLATE_INSTANCE_PATH": str(instance), "NUMBERPLATE_API_AUTH": "false",
               "NUMBERPLATE_CONFIG": "", "NUMBERPLATE_THREADS": "2", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "numberplate", "serve", "--port", "0", "--workers", str(workers)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
        )
        self.url = self._wait_for_url()

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + 120
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.proc.stderr.read() if self.proc.stderr else ''}")
            if "numberplate web app on " in line:
                url = line.split("numberplate web app on ", 1)[1].split()[0]
                self._wait_ready(url, deadline)
                return url
        raise AssertionError("server did not start within 120 s")

    @staticmethod
    def _wait_ready(url: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "api/v1/health", timeout=5) as r:
                    if json.load(r)["models_loaded"]:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # gunicorn: quick shutdown (SIGTERM waits for keep-alives)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[type[Server]]:
    started: list[Server] = []

    class Tracked(Server):
        def __init__(self, instance: Path, workers: int):
            super().__init__(instance, workers)
            started.append(self)

    yield Tracked
    for server in started:
        server.stop()


def post_read(url: str, jpeg: bytes, timeout: float = 60) -> dict[str, object]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"car.jpg\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + jpeg + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(url + "api/v1/read", data=body, method="POST",
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.load(r)  # type: ignore[no-any-return]


def big_jpeg(car_jpeg: bytes) -> bytes:
    """The car photo scaled to 4000x3000, so a read takes long enough to be killed in the middle."""
    img = Image.open(io.BytesIO(car_jpeg)).convert("RGB").resize((4000, 3000))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.mark.slow
def test_two_workers_each_load_the_models_and_serve_reads(serve: type[Server], tmp_path: Path,
                                                          car_jpeg: bytes) -> None:
    server = serve(tmp_path / "instance", workers=2)
    workers = _children(server.proc.pid)
    assert len(workers) == 2, f"expected 2 gunicorn workers, found {workers}"
    results = [post_read(server.url, car_jpeg) for _ in range(4)]
    assert all(r["id"] for r in results) and results[0]["plates"], results[0]
    with urllib.request.urlopen(server.url + "api/v1/reads?per_page=10", timeout=10) as r:
        assert json.load(r)["total"] == 4
    with urllib.request.urlopen(server.url + "metrics", timeout=10) as r:
        assert "numberplate_stored_reads 4" in r.read().decode()


@pytest.mark.slow
def test_killed_mid_request_loses_nothing_stored(serve: type[Server], tmp_path: Path, car_jpeg: bytes) -> None:
    instance = tmp_path / "instance"
    server = serve(instance, workers=2)
    first = post_read(server.url, car_jpeg)
    assert first["id"] == 1
    jpeg = big_jpeg(car_jpeg)
    threads = [threading.Thread(target=lambda: _ignore_errors(post_read, server.url, jpeg), daemon=True)
               for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)  # the big reads are now being decoded, read or stored
    server.kill()
    for t in threads:
        t.join(timeout=30)

    db = sqlite3.connect(instance / "numberplate.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    rows = db.execute("SELECT id, image_sha256 FROM reads ORDER BY id").fetchall()
    crops = db.execute("SELECT crop_sha256 FROM plates WHERE crop_sha256 IS NOT NULL").fetchall()
    db.close()
    assert rows[0][0] == 1 and len(rows) <= 5
    for (sha,) in [(r[1],) for r in rows] + crops:
        assert (instance / "images" / sha[:2] / sha[2:4] / f"{sha}.jpg").is_file(), f"read lost its file {sha}"

    restarted = serve(instance, workers=1)
    with urllib.request.urlopen(restarted.url + "api/v1/reads/1", timeout=10) as r:
        assert json.load(r)["plates"] == json.loads(json.dumps(_stored_plates(first)))
    assert post_read(restarted.url, car_jpeg)["id"] == len(rows) + 1


def _stored_plates(read: dict[str, object]) -> list[dict[str, object]]:
    keys = ("id", "text", "confidence", "detection_confidence", "box", "country", "candidates", "crop", "vehicle",
            "lookup_error", "watchlist")
    return [{k: p[k] for k in keys} for p in read["plates"]]  # type: ignore[attr-defined]


def _ignore_errors(fn: object, *args: object) -> None:
    # The server is killed under this request: that is the point.
    with contextlib.suppress(urllib.error.URLError, OSError, ConnectionError):
        fn(*args)  # type: ignore[operator]
