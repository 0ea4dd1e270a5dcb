"""The `numberplate serve` command: the web app under gunicorn (N worker processes) or waitress (one)."""

from __future__ import annotations

import dataclasses
import gc
import logging
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask import Flask

from numberplate.config import Config, load_config
from numberplate.errors import NumberplateError

if TYPE_CHECKING:
    from numberplate.notify.deliver import DeliveryThread

log = logging.getLogger(__name__)


@click.command("serve")
@click.option("--host", help=f"address to listen on; 0.0.0.0 for every interface  [default: {Config.host}]")
@click.option("--port", type=click.IntRange(0, 65535), help=f"TCP port, 0 for any free one  [default: {Config.port}]")
@click.option("--workers", type=click.IntRange(1),
              help=f"worker processes, each with its own models  [default: {Config.workers}]")
@click.option("--threads", type=click.IntRange(1), help=f"request threads per worker  [default: {Config.threads}]")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML config file")
def serve(
    host: str | None, port: int | None, workers: int | None, threads: int | None, config_path: Path | None
) -> None:
    """Serve the web app and API until Ctrl+C: gunicorn with N worker processes, or waitress with --workers 1.

    Settings come from defaults, then the config file, then NUMBERPLATE_* environment variables, then these options.
    """
    from numberplate.web import create_app, get_state

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        config = serve_config(config_path, host=host, port=port, threads=threads, workers=workers)
    except NumberplateError as e:
        raise click.ClickException(str(e)) from e
    check_host(config.host)
    try:
        app = create_app(config)  # creates or migrates the database once, before any worker starts
        click.echo("loading models ...", err=True)
        get_state(app).get_reader()  # fail here, with the reason, rather than in every worker
    except NumberplateError as e:
        raise click.ClickException(str(e)) from e
    if config.workers == 1:
        start_retention(app)
        start_webhooks(app)
        _serve_one(app, config)
        return
    from numberplate.web.workers import run_workers

    # Nothing open may cross the fork: an inherited SQLite connection, closed later by the child's garbage
    # collector, drops the child's own file locks; ONNX Runtime is not fork-safe either. Each worker builds
    # its own app, database connections and models after the fork.
    get_state(app).close()
    del app
    gc.collect()

    def worker_app() -> Flask:
        worker = create_app(config)
        start_retention(worker)
        start_webhooks(worker)
        return worker

    run_workers(config, worker_app,
                lambda url: click.echo(f"numberplate web app on {url}  ({config.workers} workers; Ctrl+C to stop)"))


def _serve_one(app: Flask, config: Config) -> None:
    from numberplate.web.server import make_server, server_url, stop_server

    try:
        server = make_server(app, config)
    except (OSError, ValueError) as e:  # address in use, no permission for ports below 1024, bad host, ...
        raise click.ClickException(f"cannot listen on {config.host}:{config.port}: {e}") from e
    click.echo(f"numberplate web app on {server_url(server)}  (Ctrl+C to stop)")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        stop_server(server)


RETENTION_CHECK_S = 3600


def check_host(host: str) -> None:
    """Make sure ``host`` is an address or a name this machine can resolve, before any model loads.

    Raises:
        click.BadParameter: it is not (``999.1.1.1``, a typo in a host name).
    """
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as e:  # socket.gaierror is an OSError; an over-long label a UnicodeError
        reason = getattr(e, "strerror", None) or str(e)
        raise click.BadParameter(
            f"cannot listen on {host!r} ({reason}); give an IP address of this machine such as 127.0.0.1, "
            "0.0.0.0 (every interface) or ::, or a host name that resolves to one",
            param_hint="'--host' (or the host setting)",
        ) from e


def start_retention(app: Flask) -> threading.Thread | None:
    """With ``retention_days`` set, delete older reads now and then hourly, in a daemon thread.

    A failed purge (a locked or unreachable database, any bug) is logged and tried again an hour later: the
    thread keeps running as long as the server does.
    """
    from numberplate.store.reads import retention_period
    from numberplate.web import get_state

    state = get_state(app)
    days = state.config.retention_days
    if not days:
        return None

    def loop() -> None:
        while True:
            try:
                n = state.reads.purge(retention_period(days))
                if n:
                    log.info("retention: deleted %d read(s) older than %d day(s)", n, days)
            except NumberplateError as e:
                log.warning("retention purge failed, trying again in %d s: %s", RETENTION_CHECK_S, e)
            except Exception:  # this thread must outlive any error
                log.exception("retention purge failed, trying again in %d s", RETENTION_CHECK_S)
            time.sleep(RETENTION_CHECK_S)

    thread = threading.Thread(target=loop, name="numberplate-retention", daemon=True)
    thread.start()
    return thread


def start_webhooks(app: Flask) -> DeliveryThread | None:
    """With ``webhook_urls`` set, queue a webhook delivery with each read the app stores (in the read's own
    transaction) and send the queued ones from a daemon thread of this process (numberplate.notify).

    Every worker runs its own deliverer; they share the database's queue, each delivery sent by one of them. A
    receiver that is slow, down or failing delays only that thread, never a request, and never stops it.
    """
    from numberplate.notify.deliver import WebhookDeliverer, start_delivery_thread
    from numberplate.notify.outbox import WebhookOutbox
    from numberplate.web import get_state

    state = get_state(app)
    outbox = state.reads.outbox  # the app's store queues the deliveries (web.state); this thread sends them
    if not isinstance(outbox, WebhookOutbox):
        return None
    return start_delivery_thread(WebhookDeliverer.for_config(state.db, state.config), outbox.queued)


def serve_config(
    config_path: Path | None, host: str | None = None, port: int | None = None, threads: int | None = None,
    workers: int | None = None,
) -> Config:
    """The config ``serve`` runs with: defaults < file < environment < the given options (None: not given)."""
    config = load_config(config_path, host=host, port=port or None, threads=threads, workers=workers)
    # load_config only accepts ports 1-65535; 0 (any free port) is a listening choice, not a stored setting.
    return dataclasses.replace(config, port=0) if port == 0 else config
