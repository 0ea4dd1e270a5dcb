"""numberplate."""
