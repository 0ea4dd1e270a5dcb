"""`numberplate serve` and the waitress server: help text, a real server on a free port, config precedence."""

from __future__ import annotations

import dataclasses
import logging
import threading
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy.exc import OperationalError

import numberplate.web
import numberplate.web.cli
import numberplate.web.server
from numberplate.cli import main
from numberplate.config import Config
from numberplate.errors import StoreError
from numberplate.web import get_state
from numberplate.web.cli import serve_config, start_retention
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


def test_retention_thread_logs_any_failure_and_keeps_purging(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(retention_days=1_000_000)  # passes config validation; its cutoff is before the year 1
    state = get_state(app)
    failures = iter([OverflowError("date value out of range"),
                     OperationalError("DELETE", {}, Exception("database is locked")),
                     StoreError("cannot use the database"), RuntimeError("a bug")])
    periods: list[timedelta] = []
    done = threading.Event()
    real_purge = state.reads.purge

    def purge(older_than: timedelta) -> int:
        periods.append(older_than)
        failure = next(failures, None)
        if failure is not None:
            raise failure
        done.set()
        return real_purge(older_than)

    monkeypatch.setattr(state.reads, "purge", purge)
    monkeypatch.setattr(numberplate.web.cli, "RETENTION_CHECK_S", 0.01)
    with caplog.at_level(logging.WARNING, logger="numberplate.web.cli"):
        thread = start_retention(app)
        assert thread is not None
        assert done.wait(timeout=10), f"the retention thread stopped after {len(periods)} purge(s)"
    assert thread.is_alive() and len(periods) >= 5
    assert set(periods) == {timedelta(days=1_000_000)}
    logged = caplog.text
    assert "OverflowError" in logged and "database is locked" in logged and "RuntimeError: a bug" in logged
    assert "retention purge failed, trying again in" in logged and "cannot use the database" in logged


def test_serve_refuses_a_host_that_is_no_address_in_one_line(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUMBERPLATE_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("NUMBERPLATE_CONFIG", raising=False)
    result = runner.invoke(main, ["serve", "--host", "999.1.1.1", "--port", "8799", "--workers", "1"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "Invalid value for '--host'" in result.output and "cannot listen on '999.1.1.1'" in result.output
    assert "Traceback" not in result.output and "ValueError" not in result.output
    assert not (tmp_path / "instance").exists()  # refused before the app (and its database) was made


def test_serve_reports_a_database_it_cannot_open_in_one_line(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "numberplate.db").write_text("garbage\n")
    monkeypatch.setenv("NUMBERPLATE_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("NUMBERPLATE_CONFIG", raising=False)
    result = runner.invoke(main, ["serve", "--port", "0", "--workers", "1"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "Error: cannot open or migrate the database" in result.output
    assert "file is not a database" in result.output and "move it away" in result.output
    assert (instance / "numberplate.db").read_text() == "garbage\n"
