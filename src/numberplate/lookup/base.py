"""The VehicleLookup protocol: a plate's text in, the registered vehicle's details out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from numberplate.types import VehicleInfo


@runtime_checkable
class VehicleLookup(Protocol):
    """Finds the registered vehicle for a plate (raises a ``Lookup*`` error from numberplate.errors)."""

    name: str

    def lookup(self, plate: str, country: str | None = None) -> VehicleInfo:
        """Return the vehicle registered under ``plate``."""
        ...
