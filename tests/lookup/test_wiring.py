"""How lookups are put together from config: per-country routes, the database cache, the local registry,
and a failed lookup that never fails the plate read."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from numberplate.config import Config
from numberplate.errors import ConfigError, LookupBadPlate, LookupNotFound, LookupUnavailable, StoreError
from numberplate.lookup import create_lookup
from numberplate.lookup.cached import CachedLookup
from numberplate.lookup.local import LocalRegistryLookup
from numberplate.lookup.router import CountryRouter, parse_routes
from numberplate.pipeline import Reader
from numberplate.store.db import Database
from numberplate.store.vehicles import LookupCache, VehicleRegistry
from numberplate.types import VehicleInfo
from tests.lookup.servers import LocalServer
from tests.web.conftest import FakeDetector, FakeRecognizer


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'lookup.db'}")
    database.migrate()
    return database


@pytest.fixture
def registry(db: Database) -> VehicleRegistry:
    registry = VehicleRegistry(db)
    registry.upsert({"plate": "AB12CDE", "country": "gb", "make": "Ford", "model": "Focus", "year": "2019"})
    return registry


class Counting:
    """A provider that counts its calls and knows one plate."""

    name = "counting"

    def __init__(self) -> None:
        self.calls = 0

    def lookup(self, plate: str, country: str | None = None) -> VehicleInfo:
        self.calls += 1
        if plate == "KNOWN1":
            return VehicleInfo("KNOWN1", self.name, make="Volvo", raw={"merk": "VOLVO"})
        if plate == "DOWN1":
            raise LookupUnavailable("counting: down")
        raise LookupNotFound("counting: no such plate")


def test_parse_routes() -> None:
    known = {"local", "dvla", "rdw"}
    assert parse_routes("local", known) == {"*": "local"}
    assert parse_routes(" GB = dvla , nl=rdw,*=local ", known) == {"gb": "dvla", "nl": "rdw", "*": "local"}
    assert parse_routes("us-ca=dvla", known) == {"us-ca": "dvla"}
    for bad, message in (("gb=nosuch", "unknown provider"), ("england=dvla", "country code"), (" , ", "no provider")):
        with pytest.raises(ConfigError, match=message):
            parse_routes(bad, known)


@pytest.mark.parametrize(
    ("spec", "country"), [("gb=dvla,gb=local", "gb"), ("dvla, local", "*"), ("GB=dvla,gb=dvla", "gb")]
)
def test_a_country_routed_twice_is_refused(spec: str, country: str) -> None:
    with pytest.raises(ConfigError, match=f"country {re.escape(country)} is already routed to dvla"):
        parse_routes(spec, {"local", "dvla"})


def test_router_picks_region_then_country_then_default() -> None:
    a, b, c = Counting(), Counting(), Counting()
    router = CountryRouter({"us-ca": a, "us": b, "*": c})
    assert router.provider_for("us-ca") is a and router.provider_for("US-NY") is b
    assert router.provider_for("gb") is c and router.provider_for(None) is c
    with pytest.raises(LookupBadPlate, match="no vehicle lookup is configured for country fr"):
        CountryRouter({"gb": a}).lookup("X", "fr")


def test_cache_answers_repeat_lookups_and_not_founds_but_not_errors(db: Database) -> None:
    provider = Counting()
    cached = CachedLookup(provider, LookupCache(db, timedelta(hours=1)))
    assert cached.lookup("KNOWN1", "nl").make == "Volvo"
    assert cached.lookup("KNOWN1", "nl").raw == {"merk": "VOLVO"}
    assert provider.calls == 1
    for _ in range(2):
        with pytest.raises(LookupNotFound):
            cached.lookup("NOPE1", "nl")
    assert provider.calls == 2
    for _ in range(2):
        with pytest.raises(LookupUnavailable):
            cached.lookup("DOWN1", "nl")
    assert provider.calls == 4  # errors are retried, not cached


class Together:
    """A provider that answers only once ``n`` callers are inside it: they all missed the cache."""

    name = "together"

    def __init__(self, n: int) -> None:
        self.barrier = threading.Barrier(n, timeout=10)

    def lookup(self, plate: str, country: str | None = None) -> VehicleInfo:
        self.barrier.wait()
        if plate == "NOPE1":
            raise LookupNotFound("together: no such plate")
        return VehicleInfo(plate, self.name, make="Volvo")


@pytest.mark.parametrize("plate", ["KNOWN1", "NOPE1"])
def test_threads_looking_up_one_plate_at_once_all_get_the_answer(db: Database, plate: str) -> None:
    n = 4
    cached = CachedLookup(Together(n), LookupCache(db, timedelta(hours=1)))
    outcomes: list[str] = []

    def look() -> None:
        try:
            outcomes.append(cached.lookup(plate, "nl").make or "")
        except Exception as e:  # the outcome under test: each thread's answer or error
            outcomes.append(type(e).__name__)

    threads = [threading.Thread(target=look) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == (["Volvo"] if plate == "KNOWN1" else ["LookupNotFound"]) * n
    assert cached.cache.get("together", plate, "nl") is not None  # and the answer is cached


class BrokenCache(LookupCache):
    """A cache whose database has gone away."""

    def get(self, provider: str, plate: str, country: str | None) -> VehicleInfo | bool | None:
        raise StoreError("cannot use the database sqlite:///gone.db: disk I/O error")

    def put(self, provider: str, plate: str, country: str | None, vehicle: VehicleInfo | None) -> None:
        raise StoreError("cannot use the database sqlite:///gone.db: disk I/O error")


def test_a_cache_that_fails_does_not_lose_the_provider_s_answer(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    provider = Counting()
    cached = CachedLookup(provider, BrokenCache(db, timedelta(hours=1)))
    assert cached.lookup("KNOWN1", "nl").make == "Volvo"
    with pytest.raises(LookupNotFound, match="counting: no such plate"):
        cached.lookup("NOPE1", "nl")
    assert provider.calls == 2
    assert "not cached" in caplog.text and "disk I/O error" in caplog.text


def test_local_registry_lookup(registry: VehicleRegistry) -> None:
    local = LocalRegistryLookup(registry)
    assert local.lookup("ab12 cde", "gb").make == "Ford"
    with pytest.raises(LookupNotFound):
        local.lookup("ZZ1", "gb")
    with pytest.raises(LookupBadPlate):
        local.lookup("--")


def test_create_lookup_routes_gb_to_dvla_over_http_and_the_rest_to_local(
    registry: VehicleRegistry, db: Database, dvla_server: LocalServer
) -> None:
    config = Config().replace(lookup="gb=dvla,*=local", dvla_api_key="ves-test-key", dvla_url=dvla_server.url,
                              lookup_timeout=2.0)
    lookup = create_lookup(config, registry=registry, cache=LookupCache(db, timedelta(hours=1)))
    uk = lookup.lookup("AA19 AAA", "gb")
    assert uk.source == "dvla" and uk.make
    registry.upsert({"plate": "FR123", "make": "Renault"})
    assert lookup.lookup("FR123", "fr").make == "Renault"
    with pytest.raises(LookupNotFound):
        lookup.lookup("AB12CDE", "fr")  # registered for gb only
    with pytest.raises(ConfigError, match="dvla_api_key"):
        create_lookup(Config().replace(lookup="gb=dvla"), registry=registry)


def test_reader_returns_the_read_with_the_lookup_error_instead_of_failing(registry: VehicleRegistry) -> None:
    image = np.zeros((200, 300, 3), np.uint8)
    found = Reader(FakeDetector(), FakeRecognizer(), LocalRegistryLookup(registry), Config()).read(image, "gb")
    assert found[0].vehicle is not None and found[0].vehicle.make == "Ford" and found[0].lookup_error is None
    down = Reader(FakeDetector(), FakeRecognizer(), Counting(), Config()).read(image, "gb")
    assert down[0].text is not None and down[0].text.text == "AB12CDE"
    assert down[0].vehicle is None and down[0].lookup_error == "LookupNotFound: counting: no such plate"


def test_each_http_provider_gets_its_own_limited_client(registry: VehicleRegistry) -> None:
    config = Config().replace(lookup="gb=dvla,nl=rdw", dvla_api_key="k", lookup_rate_per_second=2.5,
                              lookup_timeout=1.5, lookup_cache_hours=0)
    router = create_lookup(config, registry=registry)
    assert isinstance(router, CountryRouter)
    dvla, rdw = router.provider_for("gb"), router.provider_for("nl")
    clients = [p.client for p in (dvla, rdw)]  # type: ignore[union-attr]
    assert clients[0] is not clients[1]
    assert all(c.rate_per_second == 2.5 and c.timeout == 1.5 for c in clients)


@pytest.mark.parametrize(
    "url",
    ["driver-vehicle-licensing.api.gov.uk", "ftp://example.org", "http://", "not a url", "https://x.org/?key=1"],
)
def test_a_bad_provider_url_is_a_config_error_naming_the_setting(url: str, registry: VehicleRegistry) -> None:
    config = Config().replace(lookup="gb=dvla", dvla_api_key="k", dvla_url=url)
    with pytest.raises(ConfigError, match=r"config 'dvla_url' must be the provider's http:// or https:// root URL"):
        create_lookup(config, registry=registry)


def test_a_provider_url_with_spaces_around_it_is_used(registry: VehicleRegistry, dvla_server: LocalServer) -> None:
    config = Config().replace(lookup="dvla", dvla_api_key="ves-test-key", dvla_url=f" {dvla_server.url}/ \n")
    assert create_lookup(config, registry=registry).lookup("AA19AAA").make == "FORD"
