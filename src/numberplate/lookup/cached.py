"""A lookup provider wrapped with the database cache: found vehicles and not-founds are kept for a TTL."""

from __future__ import annotations

import logging

from numberplate.errors import LookupNotFound, StoreError
from numberplate.lookup.base import VehicleLookup
from numberplate.store.vehicles import LookupCache
from numberplate.types import VehicleInfo

log = logging.getLogger(__name__)


class CachedLookup:
    """Answers from ``cache`` when it holds a fresh answer, else asks ``provider`` and caches what it says.

    Only answers are cached (a vehicle, or not-found); errors such as timeouts or rate limits are not.
    A cache that cannot be read or written is passed by: the provider's answer still comes back.
    """

    def __init__(self, provider: VehicleLookup, cache: LookupCache):
        self.provider = provider
        self.cache = cache
        self.name = provider.name

    def lookup(self, plate: str, country: str | None = None) -> VehicleInfo:
        """The vehicle, from the cache or the provider (raises what the provider raises)."""
        try:
            cached = self.cache.get(self.name, plate, country)
        except StoreError as e:
            log.warning("%s: lookup cache not read, asking the provider: %s", self.name, e)
            cached = None
        if cached is False:
            raise LookupNotFound(f"{self.name}: no vehicle with plate {plate} (cached answer)")
        if isinstance(cached, VehicleInfo):
            return cached
        try:
            vehicle = self.provider.lookup(plate, country)
        except LookupNotFound:
            self._put(plate, country, None)
            raise
        self._put(plate, country, vehicle)
        return vehicle

    def _put(self, plate: str, country: str | None, vehicle: VehicleInfo | None) -> None:
        """Cache an answer; a failure to do so costs only the next lookup's provider call."""
        try:
            self.cache.put(self.name, plate, country, vehicle)
        except StoreError as e:
            log.warning("%s: answer for %s not cached: %s", self.name, plate, e)
