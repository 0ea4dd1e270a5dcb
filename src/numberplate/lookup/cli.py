"""`numberplate lookup PLATE` and `numberplate lookup import vehicles.csv`."""

from __future__ import annotations

import json
import logging
import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from numberplate.errors import LookupError_, NumberplateError
from numberplate.store.cli import CONFIG_OPTION, cli_config, open_database

log = logging.getLogger(__name__)


class _PlateOrCommand(click.Group):
    """A group whose first argument is a sub-command name or, failing that, a plate for ``get``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["get", *args]
        return super().parse_args(ctx, args)


@click.group("lookup", cls=_PlateOrCommand)
def lookup_group() -> None:
    """Vehicle details for a plate: `numberplate lookup AB12CDE [--provider dvla]`; `lookup import FILE.csv`."""


@lookup_group.command("get")
@click.argument("plate")
@click.option("--country", help="country or region of the plate (gb, nl, us-ca, ...)")
@click.option("--provider", help="one provider (local, dvla, regcheck, rdw, vegvesen); default: config 'lookup'")
@click.option("--json", "as_json", is_flag=True, help="JSON output, with the provider's raw payload")
@CONFIG_OPTION
def lookup_get(plate: str, country: str | None, provider: str | None, as_json: bool, config_path: Path | None) -> None:
    """Look up the vehicle registered under PLATE (answers are cached as for reads: lookup_cache_hours)."""
    from numberplate.lookup import create_lookup
    from numberplate.store.vehicles import LookupCache, VehicleRegistry

    config = cli_config(config_path)
    db = open_database(config)
    try:
        if provider:
            config = config.replace(lookup=provider)
        cache = LookupCache(db, timedelta(hours=config.lookup_cache_hours))
        lookup = create_lookup(config, registry=VehicleRegistry(db), cache=cache)
        vehicle = lookup.lookup(plate, country.lower() if country else None)
    except LookupError_ as e:
        raise click.ClickException(f"{type(e).__name__}: {e}") from e
    except NumberplateError as e:
        raise click.ClickException(str(e)) from e
    except Exception as e:  # a bug in a provider: one line, not a traceback
        log.debug("lookup of %s failed unexpectedly", plate, exc_info=True)
        raise click.ClickException(
            f"the lookup failed unexpectedly ({type(e).__name__}: {str(e)[:200]}); please report this as a bug"
        ) from e
    if as_json:
        out: dict[str, Any] = {**vehicle.to_dict(), "raw": _finite(vehicle.raw)}
        click.echo(json.dumps(out, ensure_ascii=False, default=str, allow_nan=False))
        return
    for key, value in vehicle.to_dict().items():
        if value not in (None, ""):
            click.echo(f"{key.replace('_', ' '):<18} {value}")


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as None, so the output is valid JSON (old cached payloads may hold them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


@lookup_group.command("import")
@click.argument("csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@CONFIG_OPTION
def lookup_import(csv_path: Path, config_path: Path | None) -> None:
    """Import vehicles into the local registry from CSV (columns: plate, country, make, model, colour, ...)."""
    from numberplate.store.vehicles import VehicleRegistry

    registry = VehicleRegistry(open_database(cli_config(config_path)))
    try:
        report = registry.import_csv(csv_path)
    except NumberplateError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"{report.added} vehicle(s) added, {report.updated} updated")
