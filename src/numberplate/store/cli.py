"""`numberplate token` (API tokens) and `numberplate db` (migrations, retention) commands."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from numberplate.clitypes import reported
from numberplate.config import Config, load_config
from numberplate.errors import NumberplateError
from numberplate.store.db import Database, default_url
from numberplate.store.reads import ReadStore, retention_period
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
    """The configured history of reads (database migrated, images in the instance folder).

    Raises:
        click.ClickException: the database cannot be opened or migrated.
    """
    from numberplate.store.files import ImageFiles

    return ReadStore(open_database(config), ImageFiles(Path(config.instance_path).resolve() / "images"))


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


def _config(config_path: Path | None) -> Config:
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
        secret, info = Tokens(open_database(_config(config_path))).create(name, max_calls)
    click.echo(secret)
    click.echo(f"token {info.id} ({info.name}) created; send it as 'Authorization: Token <secret>'", err=True)


@token_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON output")
@CONFIG_OPTION
def token_list(as_json: bool, config_path: Path | None) -> None:
    """List tokens (id, name, prefix, limits, last use); never the secrets."""
    from numberplate.store.tokens import Tokens

    with reported(NumberplateError):
        tokens = Tokens(open_database(_config(config_path))).list()
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
        info = Tokens(open_database(_config(config_path))).revoke(token_id)
    click.echo(f"token {info.id} ({info.name}) revoked")


@click.group("db")
def db_group() -> None:
    """The database of reads: migrate, purge old reads."""


@db_group.command("upgrade")
@CONFIG_OPTION
def db_upgrade(config_path: Path | None) -> None:
    """Create or migrate the database schema to the current version."""
    db = open_database(_config(config_path))
    click.echo(f"database {db.safe_url} is up to date")


@db_group.command("purge")
@click.option("--days", type=click.IntRange(1), help="delete reads older than this (default: retention_days)")
@CONFIG_OPTION
def db_purge(days: int | None, config_path: Path | None) -> None:
    """Delete reads (and their images) older than the retention period."""
    config = _config(config_path)
    days = days or config.retention_days
    if not days:
        raise click.ClickException("no retention period: pass --days N or set retention_days")
    store = open_read_store(config)
    with reported(NumberplateError):
        deleted = store.purge(retention_period(days))
    click.echo(f"deleted {deleted} read(s) older than {days} day(s)")
