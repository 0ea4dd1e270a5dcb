"""A lookup provider wrapped with the database cache: found vehicles and not-founds are kept for a TTL."""

from __future__ import annotations

import logging

from numberplate.errors import LookupNotFound
from numberplate.lookup.base import VehicleLookup
from numberplate.store.vehicles import LookupCache
from numberplate.types import VehicleInfo

log = logging.getLogger(__name__)


class CachedLookup:
    """Answers from ``cache`` when it holds a fresh answer, else asks ``provider`` and caches what it says.

    Only answers are cached (a vehicle, or not-found); errors such as timeouts or rate limits are not.
    """

    def __init__(self, provider: VehicleLookup, cache: LookupCache):
        self.provider = provider
        self.cache = cache
        self.name = provider.name

    def lookup(self, plate: str, country: str | None = None) -> VehicleInfo:
        """The vehicle, from the cache or the provider (raises what the provider raises)."""
        cached = self.cache.get(self.name, plate, country)
        if cached is False:
            raise LookupNotFound(f"{self.name}: no vehicle with plate {plate} (cached answer)")
        if isinstance(cached, VehicleInfo):
            return cached
        try:
            vehicle = self.provider.lookup(plate, country)
        except LookupNotFound:
            self.cache.put(self.name, plate, country, None)
            raise
        self.cache.put(self.name, plate, country, vehicle)
        return vehicle
