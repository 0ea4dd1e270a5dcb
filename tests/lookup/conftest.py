"""Fixtures for the lookup tests: a clock that sleeps instantly, fast HTTP clients, and the providers' servers."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from numberplate.lookup.http import HttpClient
from tests.lookup.servers import (
    DvlaService,
    FakeClock,
    LocalServer,
    MakeClient,
    RdwService,
    RegcheckService,
    VegvesenService,
    ok_app,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(clock: FakeClock) -> Iterator[MakeClient]:
    """Build HttpClients with a 0.2 s timeout, the fake clock and a seeded jitter; closed after the test."""
    clients: list[HttpClient] = []

    def make(**overrides: Any) -> HttpClient:
        options: dict[str, Any] = {
            "name": "test",
            "timeout": 0.2,
            "retries": 2,
            "backoff": 0.1,
            "sleep": clock.sleep,
            "clock": clock,
            "rng": random.Random(7),
        }
        options.update(overrides)
        client = HttpClient(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    """A server answering 200 ``{"ok": true}`` unless the test scripts other replies with ``server.then``."""
    with LocalServer(ok_app()) as s:
        yield s


@pytest.fixture
def dvla() -> DvlaService:
    return DvlaService()


@pytest.fixture
def dvla_server(dvla: DvlaService) -> Iterator[LocalServer]:
    with LocalServer(dvla) as s:
        yield s


@pytest.fixture
def regcheck() -> RegcheckService:
    return RegcheckService()


@pytest.fixture
def regcheck_server(regcheck: RegcheckService) -> Iterator[LocalServer]:
    with LocalServer(regcheck) as s:
        yield s


@pytest.fixture
def rdw() -> RdwService:
    return RdwService()


@pytest.fixture
def rdw_server(rdw: RdwService) -> Iterator[LocalServer]:
    with LocalServer(rdw) as s:
        yield s


@pytest.fixture
def vegvesen() -> VegvesenService:
    return VegvesenService()


@pytest.fixture
def vegvesen_server(vegvesen: VegvesenService) -> Iterator[LocalServer]:
    with LocalServer(vegvesen) as s:
        yield s
