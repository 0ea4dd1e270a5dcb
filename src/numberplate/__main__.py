"""`python -m numberplate`: the numberplate command."""

from numberplate.cli import main

main()
