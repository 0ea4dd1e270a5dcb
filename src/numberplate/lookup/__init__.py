"""Vehicle-information lookup: the protocol, one module per provider, the cache and the per-country router."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from numberplate.config import Config
from numberplate.errors import ConfigError
from numberplate.lookup.base import VehicleLookup

if TYPE_CHECKING:
    from numberplate.store.vehicles import LookupCache, VehicleRegistry


def _transport(config: Config, name: str) -> dict[str, Any]:
    """The keyword arguments every HTTP provider takes: a client of its own (one provider's outage opens only
    its own circuit breaker, and each has its own ``lookup_rate_per_second``) and ``<name>_url`` when set."""
    from numberplate.lookup.http import HttpClient

    rate = config.lookup_rate_per_second or None
    kwargs: dict[str, Any] = {"client": HttpClient(name=name, timeout=config.lookup_timeout, rate_per_second=rate)}
    base_url = getattr(config, f"{name}_url")
    if base_url:
        kwargs["base_url"] = _base_url(base_url, f"{name}_url")
    return kwargs


def _base_url(value: str, setting: str) -> str:
    """``value`` when it is a service root that paths can be added to: http(s), a host, no query or fragment.

    Raises:
        ConfigError: naming the setting, so that a typo fails at start-up rather than at every lookup.
    """
    import httpx

    value = value.strip()
    try:
        url: httpx.URL | None = httpx.URL(value)
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host or url.query or url.fragment:
        raise ConfigError(
            f"config {setting!r} must be the provider's http:// or https:// root URL without a query, "
            f"such as https://api.example.org; got {value!r}"
        )
    return value


def _need(value: str | None, setting: str, provider: str) -> str:
    if not value:
        raise ConfigError(f"the {provider} lookup needs {setting} (NUMBERPLATE_{setting.upper()}); none is set")
    return value


def _dvla(config: Config) -> VehicleLookup:
    from numberplate.lookup.dvla import DvlaLookup

    return DvlaLookup(_need(config.dvla_api_key, "dvla_api_key", "DVLA"), **_transport(config, "dvla"))


def _regcheck(config: Config) -> VehicleLookup:
    from numberplate.lookup.regcheck import RegcheckLookup

    username = _need(config.regcheck_username, "regcheck_username", "regcheck")
    return RegcheckLookup(username, config.regcheck_password, **_transport(config, "regcheck"))


def _rdw(config: Config) -> VehicleLookup:
    from numberplate.lookup.rdw import RdwLookup

    return RdwLookup(config.rdw_app_token, **_transport(config, "rdw"))


def _vegvesen(config: Config) -> VehicleLookup:
    from numberplate.lookup.vegvesen import VegvesenLookup

    api_key = _need(config.vegvesen_api_key, "vegvesen_api_key", "Statens vegvesen")
    return VegvesenLookup(api_key, **_transport(config, "vegvesen"))


# name -> builder from config; "local" needs the database and is built in create_lookup.
HTTP_PROVIDERS: dict[str, Callable[[Config], VehicleLookup]] = {
    "dvla": _dvla,
    "regcheck": _regcheck,
    "rdw": _rdw,
    "vegvesen": _vegvesen,
}
PROVIDERS = ("local", *HTTP_PROVIDERS)


def create_provider(name: str, config: Config, registry: VehicleRegistry | None = None) -> VehicleLookup:
    """One provider by name, configured from ``config`` (credentials from config or environment only).

    Raises:
        ConfigError: an unknown provider, or one whose credentials are not set.
    """
    if name == "local":
        from numberplate.lookup.local import LocalRegistryLookup

        if registry is None:
            raise ConfigError("the local lookup needs the database (a VehicleRegistry)")
        return LocalRegistryLookup(registry)
    if name not in HTTP_PROVIDERS:
        raise ConfigError(f"unknown lookup provider {name!r}; choose from {', '.join(PROVIDERS)}")
    return HTTP_PROVIDERS[name](config)


def create_lookup(
    config: Config, registry: VehicleRegistry | None = None, cache: LookupCache | None = None
) -> VehicleLookup:
    """The lookup ``config.lookup`` describes: providers routed by country, HTTP ones behind the cache.

    Raises:
        ConfigError: a malformed route, an unknown provider or missing credentials.
    """
    from numberplate.lookup.cached import CachedLookup
    from numberplate.lookup.router import CountryRouter, parse_routes

    routes = parse_routes(config.lookup, set(PROVIDERS))
    built: dict[str, VehicleLookup] = {}
    for name in set(routes.values()):
        provider = create_provider(name, config, registry)
        if cache is not None and name != "local" and config.lookup_cache_hours > 0:
            provider = CachedLookup(provider, cache)
        built[name] = provider
    if set(routes) == {"*"}:
        return built[routes["*"]]
    return CountryRouter({country: built[name] for country, name in routes.items()})


__all__ = ["PROVIDERS", "VehicleLookup", "create_lookup", "create_provider"]
