"""Choosing the provider by country: ``"gb=dvla,nl=rdw,no=vegvesen,*=local"``."""

from __future__ import annotations

import re
from collections.abc import Mapping

from numberplate.errors import ConfigError, LookupBadPlate, LookupUnavailable
from numberplate.lookup.base import VehicleLookup
from numberplate.types import VehicleInfo

_COUNTRY = re.compile(r"[a-z]{2}(-[a-z0-9]{1,3})?|\*")


def parse_routes(spec: str, known: set[str]) -> dict[str, str]:
    """``"gb=dvla,*=local"`` -> ``{"gb": "dvla", "*": "local"}``; a bare name means ``*=name``.

    Raises:
        ConfigError: a malformed entry, an unknown provider name, or a country routed twice.
    """
    routes: dict[str, str] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        country, _, name = part.rpartition("=")
        country, name = (country.strip().lower() or "*"), name.strip().lower()
        if not _COUNTRY.fullmatch(country):
            raise ConfigError(f"lookup route {part!r}: {country!r} is not a country code such as gb, us-ca or *")
        if name not in known:
            choices = ", ".join(sorted(known))
            raise ConfigError(f"lookup route {part!r}: unknown provider {name!r}; choose from {choices}")
        if country in routes:
            raise ConfigError(
                f"lookup route {part!r}: country {country} is already routed to {routes[country]}; "
                "give each country one provider"
            )
        routes[country] = name
    if not routes:
        raise ConfigError("config 'lookup' names no provider; e.g. lookup = \"local\" or \"gb=dvla,*=local\"")
    return routes


class CountryRouter:
    """Sends each lookup to the provider for its country (``us-ca`` tries ``us-ca``, then ``us``, then ``*``)."""

    name = "router"

    def __init__(self, routes: Mapping[str, VehicleLookup]):
        self.routes = dict(routes)

    def provider_for(self, country: str | None) -> VehicleLookup | None:
        """The provider that serves ``country`` (None: none is configured for it)."""
        country = (country or "").lower()
        for key in (country, country.split("-")[0], "*"):
            if key and key in self.routes:
                return self.routes[key]
        return None

    def lookup(self, plate: str, country: str | None = None) -> VehicleInfo:
        """Ask the country's provider.

        Raises:
            LookupBadPlate: no provider is configured for this country.
        """
        provider = self.provider_for(country)
        if provider is None:
            raise LookupBadPlate(f"no vehicle lookup is configured for country {country or '(unknown)'}")
        return provider.lookup(plate, country)


class Unconfigured:
    """Stands in for a lookup whose configuration is broken: every call says why."""

    name = "unconfigured"

    def __init__(self, reason: str):
        self.reason = reason

    def lookup(self, plate: str, country: str | None = None) -> VehicleInfo:
        """Always raises.

        Raises:
            LookupUnavailable: with the configuration problem.
        """
        raise LookupUnavailable(f"vehicle lookup is not configured correctly: {self.reason}")
