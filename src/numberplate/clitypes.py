"""Click parameter types and error handling shared by the command-line groups."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click


class FiniteFloatRange(click.FloatRange):
    """``click.FloatRange`` that also refuses ``nan`` (which passes every range check: comparisons with it are
    false) and, where the range is open-ended, ``inf`` with a usage error, instead of letting them through to fail
    later or silently (an infinite learning rate trains NaN weights)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if isinstance(number, float) and math.isnan(number):
            self.fail(f"{value!r} is not a number", param, ctx)
        if isinstance(number, float) and math.isinf(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def checked_camera_id(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A ``--camera-id`` callback: the id checked by the rule of every entry point (so that the history can
    filter by it); a bad one is a usage error saying what is allowed."""
    from numberplate.store.reads import check_camera_id  # imported when used: the CLI starts without the store

    if value is None:
        return None
    try:
        return check_camera_id(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from e


@contextmanager
def reported(*errors: type[Exception]) -> Iterator[None]:
    """Turn ``errors`` (bad data, an unreadable checkpoint, a database that cannot be written...) into a one-line
    message and exit status 1."""
    try:
        yield
    except errors as e:
        raise click.ClickException(str(e)) from e
