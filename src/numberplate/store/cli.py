"""`numberplate token` (API tokens) and `numberplate db` (migrations, retention, export) commands."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from numberplate.clitypes import FiniteFloatRange, checked_camera_id, reported
from numberplate.config import Config, load_config
from numberplate.errors import NumberplateError
from numberplate.store.clock import parse_iso_utc
from numberplate.store.db import Database, default_url
from numberplate.store.export import EXPORT_FORMATS, WRITERS, ExportFormat, ExportRow, export_rows
from numberplate.store.reads import SEARCH_MODES, SOURCES, ReadQuery, ReadStore, retention_period
from numberplate.store.tokens import MAX_CALLS

if TYPE_CHECKING:
    from numberplate.lookup.base import VehicleLookup
    from numberplate.pipeline import Reader

CONFIG_OPTION = click.option(
    "--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="TOML config file"
)


def open_database(config: Config) -> Database:
    """The configured database, migrated to the current schema.

    Raises:
        click.ClickException: it cannot be opened or migrated.
    """
    try:
        db = Database(config.database_url or default_url(config.instance_path))
        db.migrate()
    except NumberplateError as e:
        raise click.ClickException(str(e)) from e
    return db


def open_read_store(config: Config) -> ReadStore:
    """The configured history of reads (database migrated, images in the instance folder); each save also queues
    the webhooks of ``webhook_urls`` (sent by `numberplate webhooks deliver` or the web server's workers).

    Raises:
        click.ClickException: the database cannot be opened or migrated.
    """
    from numberplate.notify.outbox import outbox_for
    from numberplate.store.files import ImageFiles

    return ReadStore(open_database(config), ImageFiles(Path(config.instance_path).resolve() / "images"),
                     outbox_for(config))


def open_lookup(config: Config) -> VehicleLookup:
    """The configured vehicle lookup (providers of config ``lookup``), with the local registry and the cache.

    Raises:
        click.ClickException: the database cannot be opened or migrated.
        ConfigError: the ``lookup`` setting names an unknown provider.
    """
    from numberplate.lookup import create_lookup
    from numberplate.store.vehicles import LookupCache, VehicleRegistry

    db = open_database(config)
    cache = LookupCache(db, timedelta(hours=config.lookup_cache_hours))
    return create_lookup(config, registry=VehicleRegistry(db), cache=cache)


def open_reader(config: Config, with_lookup: bool | None = None) -> Reader:
    """A Reader for ``config``, looking up each plate's vehicle when ``with_lookup`` (None: ``lookup_on_read``).

    Raises:
        click.ClickException: the database (for the lookup) cannot be opened or migrated.
        ConfigError: an unknown OCR backend or lookup provider.
        ModelLoadError: a model cannot be loaded.
    """
    from numberplate.pipeline import Reader

    wanted = config.lookup_on_read if with_lookup is None else with_lookup
    return Reader(config=config, lookup=open_lookup(config) if wanted else None)


def cli_config(config_path: Path | None) -> Config:
    """The config of a command's ``--config`` option (defaults < file < environment); a bad one is a one-line
    ClickException."""
    try:
        return load_config(config_path)
    except NumberplateError as e:
        raise click.ClickException(str(e)) from e


@click.group("token")
def token_group() -> None:
    """Create, list and revoke API tokens (stored hashed; a secret is shown once)."""


@token_group.command("create")
@click.argument("name")
@click.option("--max-calls", type=click.IntRange(1, MAX_CALLS),
              help="calls allowed per calendar month (default: unlimited)")
@CONFIG_OPTION
def token_create(name: str, max_calls: int | None, config_path: Path | None) -> None:
    """Create a token called NAME and print its secret (shown only this once)."""
    from numberplate.store.tokens import TokenNameError, Tokens, checked_name

    try:
        name = checked_name(name)
    except TokenNameError as e:
        raise click.BadParameter(str(e), param_hint="'NAME'") from e
    with reported(NumberplateError):
        secret, info = Tokens(open_database(cli_config(config_path))).create(name, max_calls)
    click.echo(secret)
    click.echo(f"token {info.id} ({info.name}) created; send it as 'Authorization: Token <secret>'", err=True)


@token_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON output")
@CONFIG_OPTION
def token_list(as_json: bool, config_path: Path | None) -> None:
    """List tokens (id, name, prefix, limits, last use); never the secrets."""
    from numberplate.store.tokens import Tokens

    with reported(NumberplateError):
        tokens = Tokens(open_database(cli_config(config_path))).list()
    if as_json:
        click.echo(json.dumps([t.to_dict() for t in tokens]))
        return
    if not tokens:
        click.echo("no tokens; create one with `numberplate token create NAME`")
    for t in tokens:
        d = t.to_dict()
        state = "revoked" if t.revoked else "active"
        click.echo(f"{t.id:>4}  {t.prefix}…  {t.name:<24} {state:<8} max/month {t.max_calls or '-':<8}"
                   f" last used {d['last_used_at'] or 'never'}")


@token_group.command("revoke")
@click.argument("token_id", type=int)
@CONFIG_OPTION
def token_revoke(token_id: int, config_path: Path | None) -> None:
    """Revoke token TOKEN_ID (see `numberplate token list`)."""
    from numberplate.store.tokens import Tokens

    with reported(NumberplateError):
        info = Tokens(open_database(cli_config(config_path))).revoke(token_id)
    click.echo(f"token {info.id} ({info.name}) revoked")


@click.group("db")
def db_group() -> None:
    """The database of reads: migrate, purge old reads, export them."""


@db_group.command("upgrade")
@CONFIG_OPTION
def db_upgrade(config_path: Path | None) -> None:
    """Create or migrate the database schema to the current version."""
    db = open_database(cli_config(config_path))
    click.echo(f"database {db.safe_url} is up to date")


@db_group.command("purge")
@click.option("--days", type=click.IntRange(1), help="delete reads older than this (default: retention_days)")
@CONFIG_OPTION
def db_purge(days: int | None, config_path: Path | None) -> None:
    """Delete reads (and their images) older than the retention period."""
    config = cli_config(config_path)
    days = days or config.retention_days
    if not days:
        raise click.ClickException("no retention period: pass --days N or set retention_days")
    store = open_read_store(config)
    with reported(NumberplateError):
        deleted = store.purge(retention_period(days), sweep_every=None)
    click.echo(f"deleted {deleted} read(s) older than {days} day(s)")


@db_group.command("sweep")
@click.option("--grace-hours", type=FiniteFloatRange(0, 24 * 365, min_open=True), default=1.0, show_default=True,
              help="leave files written less than this long ago (a read may be saving them)")
@CONFIG_OPTION
def db_sweep(grace_hours: float, config_path: Path | None) -> None:
    """Remove the image files no read refers to (left when removing a deleted read's files failed).

    `db purge` and the hourly retention do this too; this runs it alone, e.g. without a retention period. A sweep
    another process is running (a web worker's) is waited for, then this one runs.
    """
    store = open_read_store(cli_config(config_path))
    with reported(NumberplateError):
        removed = store.remove_orphaned_files(timedelta(hours=grace_hours), wait=True)
    click.echo(f"removed {removed} file(s) that no read refers to")


class UtcDateTime(click.ParamType):
    """An ISO 8601 date or date-time (``2026-11-24``, ``2026-11-24T10:00:00Z``) as aware UTC; naive means UTC."""

    name = "datetime"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            return parse_iso_utc(text)
        except ValueError:
            self.fail(f"{text[:40]!r} is not an ISO 8601 date or time such as 2026-11-24T10:00:00Z", param, ctx)
        except OverflowError:
            self.fail(f"{text[:40]!r} is out of range: in UTC it must fall in the years 1 to 9999", param, ctx)


def _counted(rows: Iterable[ExportRow], count: list[int]) -> Iterator[ExportRow]:
    for row in rows:
        count[0] += 1
        yield row


def _write(pieces: Iterable[str], stream: IO[bytes]) -> None:
    for piece in pieces:
        stream.write(piece.encode("utf-8"))
    stream.flush()


def _quiet_closed_stdout() -> None:
    """Point stdout at /dev/null once its reader has gone (``| head``): Python's flush of stdout at exit would
    otherwise fail again and print a warning (the fix the ``signal`` module's documentation gives)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test runner's capture)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


@db_group.command("export")
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="csv", show_default=True,
              help="csv (UTF-8 with a byte order mark, for spreadsheets; text cells that would start a formula get "
                   "a leading ') or jsonl (JSON Lines, one object per line)")
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="write to this file (written whole or not at all) instead of standard output")
@click.option("--plate", help="plate text; case, spaces and dashes are ignored")
@click.option("--mode", type=click.Choice(SEARCH_MODES), default="exact", show_default=True,
              help="how --plate matches")
@click.option("--distance", type=click.IntRange(1, 2), default=1, show_default=True,
              help="--mode fuzzy: characters off at most")
@click.option("--since", type=UtcDateTime(), help="reads from this time on (ISO 8601; no time zone: UTC)")
@click.option("--until", type=UtcDateTime(), help="reads before this time (a date alone: before that day began)")
@click.option("--camera-id", callback=checked_camera_id, help="one camera's reads")
@click.option("--source", type=click.Choice(SOURCES),
              help="how the reads came in")
@click.option("--watchlist", "watchlist_only", is_flag=True, help="only reads with a watchlist alert")
@CONFIG_OPTION
def db_export(
    fmt: ExportFormat, out: Path | None, plate: str | None, mode: str, distance: int, since: datetime | None,
    until: datetime | None, camera_id: str | None, source: str | None, watchlist_only: bool,
    config_path: Path | None,
) -> None:
    """Export the reads (newest first, one row per plate) matching the filters, as the API's
    /api/v1/reads/export does; to standard output unless --out is given."""
    if since and until and since >= until:
        raise click.BadParameter("must be later than --since", param_hint="'--until'")
    query = ReadQuery(plate=plate or None, mode=mode, distance=distance,  # type: ignore[arg-type]
                      since=since, until=until, camera_id=camera_id, source=source, watchlist_only=watchlist_only)
    db = open_database(cli_config(config_path))
    count = [0]
    pieces = WRITERS[fmt](_counted(export_rows(db, query), count), None)
    with reported(NumberplateError, OSError):  # OSError: standard output redirected to a full disk
        if out is None:
            try:
                _write(pieces, sys.stdout.buffer)
            except BrokenPipeError:
                _quiet_closed_stdout()
                sys.exit(1)
            return
        _write_file(pieces, out)
    click.echo(f"exported {count[0]} row(s) to {out}", err=True)


def _write_file(pieces: Iterable[str], out: Path) -> None:
    """Write ``pieces`` to ``out`` through a temporary file beside it, so that ``out`` is never left half
    written (a failed export keeps what was there).

    Raises:
        click.ClickException: ``out`` cannot be written (no such folder, no permission, a full disk).
    """
    part = out.with_name(f".{out.name}.part")
    try:
        with part.open("wb") as stream:
            _write(pieces, stream)
        part.replace(out)
    except BaseException as e:
        part.unlink(missing_ok=True)
        if isinstance(e, OSError):  # about the temporary file, which the user never named
            raise click.ClickException(f"cannot write the export to {out}: {e.strerror or e}; check that its "
                                       "folder exists, that this user can write there and that the disk has room"
                                       ) from e
        raise
