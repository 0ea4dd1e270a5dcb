"""Shared click parameter types."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from numberplate.clitypes import FiniteFloatRange


@click.command()
@click.option("--x", type=FiniteFloatRange(0, 10))
def _command(x: float) -> None:
    click.echo(repr(x))


@pytest.mark.parametrize(("value", "out"), [("2.5", "2.5"), ("0", "0.0"), ("10", "10.0")])
def test_numbers_in_range(value: str, out: str) -> None:
    result = CliRunner().invoke(_command, ["--x", value])
    assert result.exit_code == 0 and result.output.strip() == out


@pytest.mark.parametrize(("value", "message"), [
    ("nan", "'nan' is not a number"),  # plain click.FloatRange lets nan through every range check
    ("NaN", "'NaN' is not a number"),
    ("11", "11.0 is not in the range 0<=x<=10"),
    ("inf", "inf is not in the range 0<=x<=10"),
    ("x", "'x' is not a valid float"),
])
def test_refused_values(value: str, message: str) -> None:
    result = CliRunner().invoke(_command, ["--x", value])
    assert result.exit_code == 2 and f"Invalid value for '--x': {message}" in result.output
