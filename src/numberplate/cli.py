"""The `numberplate` command."""

from __future__ import annotations

import click

from numberplate.train.cli import train_group


@click.group()
@click.version_option(package_name="numberplate")
def main() -> None:
    """numberplate: find and read number plates in images."""


main.add_command(train_group)
