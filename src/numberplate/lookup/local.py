"""The local vehicle registry as a lookup provider: works offline, answers from the project's database."""

from __future__ import annotations

from numberplate.errors import LookupBadPlate, LookupNotFound, NotFoundError
from numberplate.store.clock import normalize_plate
from numberplate.store.vehicles import VehicleRegistry
from numberplate.types import VehicleInfo


class LocalRegistryLookup:
    """Looks plates up in the ``vehicles`` table (``numberplate lookup import vehicles.csv`` fills it)."""

    name = "local"

    def __init__(self, registry: VehicleRegistry):
        self.registry = registry

    def lookup(self, plate: str, country: str | None = None) -> VehicleInfo:
        """The registered vehicle.

        Raises:
            LookupBadPlate: the plate has no letters or digits.
            LookupNotFound: the registry has no such plate.
        """
        if not normalize_plate(plate):
            raise LookupBadPlate(f"plate {plate!r} has no letters or digits")
        try:
            return self.registry.find(plate, country)
        except NotFoundError as e:
            raise LookupNotFound(str(e)) from e
