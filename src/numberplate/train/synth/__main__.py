"""Write grids of synthetic plates for a visual check: ``python -m numberplate.train.synth OUT_DIR -n 48``."""

from __future__ import annotations

from pathlib import Path

import click

from numberplate.train.synth.samples import write_samples


@click.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("-n", "--count", default=48, show_default=True, help="Number of samples.")
@click.option("--seed", default=0, show_default=True, help="Random seed.")
@click.option("--layout", default=None, help="Only this layout (e.g. us, br_old, tn, cn_blue).")
def main(out_dir: Path, count: int, seed: int, layout: str | None) -> None:
    """Write synth_grid.png (crops) and synth_plates.png (clean plates) into OUT_DIR."""
    path = write_samples(out_dir, count, seed, layout=layout)
    click.echo(f"wrote {path} and {path.with_name('synth_plates.png')}")


if __name__ == "__main__":
    main()
