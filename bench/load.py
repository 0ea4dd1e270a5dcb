"""Load on the HTTP API over loopback: throughput and p50/p99 latency of ``POST /api/v1/read`` at 1, 4 and
16 concurrent clients, errors, and the server's memory over the run.

The server is the real thing, ``numberplate serve`` (gunicorn workers with the shipped models, SQLite store),
in a scratch instance folder. As a baseline, the same images are read in this process by the Reader on one
thread, and the HTTP throughput is printed as a ratio to that (what the web layer, JSON, storage and the
workers add or gain).

    python bench/load.py [--seconds 20] [--concurrency 1 4 16] [--workers 2] [--soak-minutes 10] [--no-store]
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("NUMBERPLATE_DATA", REPO.parent / "shared" / "data"))


def val_images(n: int) -> list[bytes]:
    """``n`` JPEG files of the detection val split, spread over its sources."""
    with open(DATA / "detect" / "labels.csv", newline="") as fh:
        paths = sorted({r["image"] for r in csv.DictReader(fh) if r["split"] == "val"})
    step = max(1, len(paths) // n)
    return [(DATA / p).read_bytes() for p in paths[::step][:n]]


def multipart(jpeg: bytes, store: bool) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"store\"\r\n\r\n{str(store).lower()}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"car.jpg\"\r\n"
            "Content-Type: image/jpeg\r\n\r\n").encode()
    return head + jpeg + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, in MiB."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


class Server:
    """``numberplate serve`` on a free port in a scratch instance folder."""

    def __init__(self, workers: int, threads: int):
        self.dir = tempfile.TemporaryDirectory(prefix="numberplate-load-")
        env = {**os.environ, "NUMBERPLATE_INSTANCE_PATH": self.dir.name, "NUMBERPLATE_CONFIG": "",
               "NUMBERPLATE_RATE_LIMIT_PER_MINUTE": "0", "PYTHONUNBUFFERED": "1"}
        subprocess.run([sys.executable, "-m", "numberplate", "db", "upgrade"], env=env, check=True,
                       capture_output=True)
        token = subprocess.run([sys.executable, "-m", "numberplate", "token", "create", "load"], env=env,
                               check=True, capture_output=True, text=True).stdout.strip()
        self.headers = {"Authorization": f"Token {token}"}
        self.log_path = Path(tempfile.gettempdir()) / "numberplate-load-server.log"
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "numberplate", "serve", "--port", "0", "--workers", str(workers),
             "--threads", str(threads)],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env, start_new_session=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if "numberplate web app on " in line:
                url = line.split("numberplate web app on ", 1)[1].split()[0]
                self.host, self.port = url.split("//")[1].rstrip("/").rsplit(":", 1)
                break
        else:
            raise SystemExit("the server did not start")
        self._wait_ready()

    def _wait_ready(self) -> None:
        for _ in range(600):
            try:
                status, body = self.request("GET", "/api/v1/health")
                if status == 200 and json.loads(body)["models_loaded"]:
                    time.sleep(1.0)  # every worker loads before accepting, but give the last one a moment
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit("the server did not become ready")

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None,
                conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
        own = conn is None
        conn = conn or http.client.HTTPConnection(self.host, int(self.port), timeout=120)
        headers = dict(self.headers)
        if content_type:
            headers["Content-Type"] = content_type
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            if own:
                conn.close()

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGINT)
        self.proc.wait(timeout=60)
        self.dir.cleanup()


def run_level(server: Server, bodies: list[tuple[bytes, str]], clients: int, seconds: float
              ) -> tuple[list[float], Counter[str], float]:
    """Latencies (s), errors by kind (HTTP status or exception) and wall time of ``clients`` keep-alive clients
    posting for ``seconds``."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(k: int) -> None:
        conn = http.client.HTTPConnection(server.host, int(server.port), timeout=120)
        i = k
        while time.perf_counter() < stop_at:
            body, ctype = bodies[i % len(bodies)]
            i += clients
            t0 = time.perf_counter()
            kind = ""
            try:
                status, _ = server.request("POST", "/api/v1/read", body, ctype, conn)
                ok = status in (200, 201)
                kind = str(status)
            except (OSError, http.client.HTTPException) as e:
                ok = False
                kind = type(e).__name__
                conn.close()
                conn = http.client.HTTPConnection(server.host, int(server.port), timeout=120)
            dt = time.perf_counter() - t0
            with lock:
                if ok:
                    latencies.append(dt)
                else:
                    errors[kind] += 1
        conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, time.perf_counter() - t0


def _kinds(errors: Counter[str]) -> str:
    return " ".join(f"{k}x{n}" for k, n in sorted(errors.items()))


def baseline(images: list[bytes]) -> float:
    """Images per second of the Reader in this process, one ONNX thread, same images."""
    from numberplate.config import Config
    from numberplate.imaging import load_image
    from numberplate.pipeline import Reader

    reader = Reader(config=Config(intra_op_threads=1))
    for data in images[:3]:
        reader.read(data)
    t0 = time.perf_counter()
    for data in images:
        reader.read_array(load_image(data))
    return len(images) / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="per concurrency level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--soak-minutes", type=float, default=0.0,
                        help="then keep the highest level running this long, sampling memory each minute")
    parser.add_argument("--no-store", action="store_true", help="store=false: do not keep the reads")
    args = parser.parse_args()

    images = val_images(args.images)
    bodies = [multipart(img, not args.no_store) for img in images]
    base = baseline(images)
    print(f"baseline: Reader in-process, 1 thread: {base:.1f} images/s ({1000 / base:.1f} ms/image)")
    server = Server(args.workers, args.threads)
    try:
        rss0 = tree_rss_mb(server.proc.pid)
        print(f"server: {args.workers} workers x {args.threads} threads, RSS after start {rss0:.0f} MiB")
        print(f"{'clients':>7} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'x baseline':>10} {'RSS MiB':>8}")
        for clients in args.concurrency:
            lat, errors, wall = run_level(server, bodies, clients, args.seconds)
            rate = len(lat) / wall
            q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [lat[0] if lat else 0.0] * 99
            failed = sum(errors.values())
            print(f"{clients:>7} {len(lat):>8} {failed:>6} {rate:>7.1f} {q[49] * 1000:>7.0f} {q[98] * 1000:>7.0f} "
                  f"{rate / base:>10.2f} {tree_rss_mb(server.proc.pid):>8.0f}  {_kinds(errors)}")
        if args.soak_minutes > 0:
            clients = max(args.concurrency)
            print(f"soak: {clients} clients for {args.soak_minutes:g} min")
            samples = []
            for minute in range(int(args.soak_minutes)):
                lat, errors, wall = run_level(server, bodies, clients, 60.0)
                rss = tree_rss_mb(server.proc.pid)
                samples.append(rss)
                print(f"  minute {minute + 1:>2}: {len(lat) / wall:6.1f} req/s, {sum(errors.values())} errors "
                      f"{_kinds(errors)}, RSS {rss:.0f} MiB")
            growth = samples[-1] - samples[0] if samples else 0.0
            print(f"soak RSS: first minute {samples[0]:.0f} MiB, last {samples[-1]:.0f} MiB, growth {growth:+.0f} MiB")
    finally:
        server.stop()
        problems = [line for line in server.log_path.read_text().splitlines() if "ERROR" in line or "CRITICAL" in line]
        if problems:
            print(f"server log {server.log_path}: {len(problems)} error line(s), last: {problems[-3:]}")


if __name__ == "__main__":
    main()
