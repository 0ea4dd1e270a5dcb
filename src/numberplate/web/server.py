"""Run the app under waitress, a production WSGI server: create, describe and stop a server."""

from __future__ import annotations

from typing import Any, Protocol, cast

from flask import Flask
from waitress import wasyncore
from waitress.server import create_server

from numberplate.config import Config

# Room for the multipart framing around an upload of the maximum size.
_BODY_SLACK = 64 * 1024


class WSGIServer(Protocol):
    """The part of a waitress server this module uses."""

    def run(self) -> None: ...


def make_server(app: Flask, config: Config) -> WSGIServer:
    """A bound (not yet running) waitress server for ``app`` on ``config.host:config.port`` (port 0: any free one).

    ``config.threads`` request threads; bodies over the upload limit are refused before they reach Flask.
    """
    max_body = int(max(config.max_upload_mb, config.max_video_mb) * 1024 * 1024) + _BODY_SLACK
    return cast(
        WSGIServer,
        create_server(
            app, host=config.host, port=config.port, threads=config.threads,
            max_request_body_size=max_body, ident="numberplate",
        ),
    )


def server_addresses(server: WSGIServer) -> list[tuple[str, int]]:
    """The ``(host, port)`` pairs the server listens on (the real port when 0 was asked for)."""
    srv = cast(Any, server)
    if hasattr(srv, "effective_listen"):  # several sockets (e.g. "localhost" on IPv4 and IPv6)
        return [(str(h), int(p)) for h, p in srv.effective_listen]
    return [(str(srv.effective_host), int(srv.effective_port))]


def server_url(server: WSGIServer) -> str:
    """A URL a browser on this machine can open (wildcard addresses are shown as the loopback one)."""
    host, port = server_addresses(server)[0]
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def stop_server(server: WSGIServer) -> None:
    """Stop a server running in another thread: finish its worker threads and close its sockets.

    ``run()`` returns within waitress's loop timeout (1 s by default).
    """
    srv = cast(Any, server)
    srv.task_dispatcher.shutdown()
    socket_map = srv.map if hasattr(srv, "effective_listen") else srv._map
    wasyncore.close_all(socket_map)
