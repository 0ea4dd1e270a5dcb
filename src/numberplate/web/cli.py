"""The `numberplate serve` command: the web app under waitress, with the models loaded before the first request."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import click

from numberplate.config import Config, load_config
from numberplate.errors import NumberplateError


@click.command("serve")
@click.option("--host", help=f"address to listen on; 0.0.0.0 for every interface  [default: {Config.host}]")
@click.option("--port", type=click.IntRange(0, 65535), help=f"TCP port, 0 for any free one  [default: {Config.port}]")
@click.option("--threads", type=click.IntRange(1), help=f"request threads  [default: {Config.threads}]")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML config file")
def serve(host: str | None, port: int | None, threads: int | None, config_path: Path | None) -> None:
    """Serve the web app (upload a photo, see its plates) until Ctrl+C.

    Settings come from defaults, then the config file, then NUMBERPLATE_* environment variables, then these options.
    """
    from numberplate.web import create_app, get_state
    from numberplate.web.server import make_server, server_url, stop_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = serve_config(config_path, host=host, port=port, threads=threads)
        app = create_app(config)
        click.echo("loading models ...", err=True)
        get_state(app).get_reader()
    except NumberplateError as e:
        raise click.ClickException(str(e)) from e
    try:
        server = make_server(app, config)
    except OSError as e:  # address in use, no permission for ports below 1024, unknown host, ...
        raise click.ClickException(f"cannot listen on {config.host}:{config.port}: {e}") from e
    click.echo(f"numberplate web app on {server_url(server)}  (Ctrl+C to stop)")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        stop_server(server)


def serve_config(
    config_path: Path | None, host: str | None = None, port: int | None = None, threads: int | None = None
) -> Config:
    """The config ``serve`` runs with: defaults < file < environment < the given options (None: not given)."""
    config = load_config(config_path, host=host, port=port or None, threads=threads)
    # load_config only accepts ports 1-65535; 0 (any free port) is a listening choice, not a stored setting.
    return dataclasses.replace(config, port=0) if port == 0 else config
