"""`numberplate serve` and the waitress server: help text, a real server on a free port, config precedence."""

from __future__ import annotations

import dataclasses
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

import numberplate.web
import numberplate.web.server
from numberplate.cli import main
from numberplate.config import Config
from numberplate.web import get_state
from numberplate.web.cli import serve_config
from numberplate.web.server import WSGIServer, make_server, server_url, stop_server


def fetch(url: str) -> tuple[int, dict[str, str], str]:
    with urllib.request.urlopen(url, timeout=10) as res:
        return res.status, dict(res.headers), res.read().decode()


def test_serve_help(runner: CliRunner) -> None:
    result = runner.invoke(main, ["serve", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--host", "--port", "--threads", "--config"):
        assert option in result.output
    assert "[default: 8000]" in result.output


def test_waitress_serves_the_app_on_a_free_port(app: Flask) -> None:
    # Port 0 (any free port) is a listening choice load_config does not accept, hence dataclasses.replace.
    server = make_server(app, dataclasses.replace(get_state(app).config, port=0, threads=2))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        url = server_url(server)
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0/")
        status, headers, body = fetch(url)
        assert status == 200
        assert 'name="csrf_token"' in body
        assert headers["Server"] == "numberplate"
        assert headers["X-Frame-Options"] == "DENY"
        assert fetch(url + "health")[2].strip() == '{"status":"ok"}'
    finally:
        stop_server(server)
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_serve_command_loads_the_reader_and_serves(
    runner: CliRunner, make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    app = make_app()
    state = get_state(app)
    created: list[Config] = []

    def create_app(config: Config) -> Flask:
        created.append(config)
        return app

    monkeypatch.setattr(numberplate.web, "create_app", create_app)

    fetched: list[str] = []
    real_make_server = numberplate.web.server.make_server

    class Probe:
        """Stands in for the server's blocking run(): serve in a thread, fetch the page, stop."""

        def __init__(self, server: WSGIServer):
            self.server = server

        def __getattr__(self, name: str) -> Any:
            return getattr(self.server, name)

        def run(self) -> None:
            thread = threading.Thread(target=self.server.run, daemon=True)
            thread.start()
            fetched.append(fetch(server_url(self.server))[2])
            stop_server(self.server)
            thread.join(timeout=10)

    monkeypatch.setattr(numberplate.web.server, "make_server", lambda a, c: Probe(real_make_server(a, c)))
    for name in ("NUMBERPLATE_CONFIG", "NUMBERPLATE_HOST", "NUMBERPLATE_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NUMBERPLATE_THREADS", "3")
    monkeypatch.setenv("NUMBERPLATE_INSTANCE_PATH", str(tmp_path / "instance"))

    result = runner.invoke(main, ["serve", "--port", "0", "--workers", "1"])

    assert result.exit_code == 0, result.output
    assert created[0].threads == 3 and created[0].port == 0
    assert state.reader_loaded
    assert "numberplate web app on http://127.0.0.1:" in result.output
    assert fetched and 'name="csrf_token"' in fetched[0]


def test_serve_config_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file = tmp_path / "numberplate.toml"
    config_file.write_text('host = "0.0.0.0"\nport = 8100\nthreads = 6\n')
    for name in ("NUMBERPLATE_CONFIG", "NUMBERPLATE_HOST", "NUMBERPLATE_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NUMBERPLATE_PORT", "8200")
    config = serve_config(config_file, threads=2)
    assert (config.host, config.port, config.threads) == ("0.0.0.0", 8200, 2)  # file < env < option
    assert serve_config(config_file, port=0).port == 0


def test_serve_reports_a_missing_model(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMBERPLATE_DETECTOR_MODEL", str(tmp_path / "missing.onnx"))
    monkeypatch.setenv("NUMBERPLATE_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("NUMBERPLATE_CONFIG", raising=False)
    result = runner.invoke(main, ["serve", "--port", "0", "--workers", "1"])
    assert result.exit_code == 1
    assert "missing.onnx" in result.output
