"""RdwLookup against a local server speaking the RDW open-data (Socrata SODA) protocol."""

from __future__ import annotations

import logging

import pytest

from numberplate.errors import (
    ConfigError,
    LookupAuthError,
    LookupBadPlate,
    LookupNotFound,
    LookupRateLimited,
    LookupUnavailable,
)
from numberplate.lookup.base import VehicleLookup
from numberplate.lookup.rdw import RdwLookup
from tests.lookup.servers import LocalServer, MakeClient, RdwService, Reply, socrata_error


@pytest.fixture
def rdw_lookup(rdw_server: LocalServer, make_client: MakeClient) -> RdwLookup:
    return RdwLookup(base_url=rdw_server.url, client=make_client(name="rdw"))


def test_is_a_vehicle_lookup(rdw_lookup: RdwLookup) -> None:
    assert isinstance(rdw_lookup, VehicleLookup)
    assert rdw_lookup.name == "rdw"


def test_found_vehicle_with_fuel(rdw_lookup: RdwLookup, rdw_server: LocalServer) -> None:
    info = rdw_lookup.lookup("6-TJR-64")
    assert info.source == "rdw"
    assert info.plate == "6TJR64"
    assert (info.make, info.model, info.colour, info.body) == ("NISSAN", "NOTE", "GRIJS", "MPV")
    assert info.fuel == "Benzine"
    assert info.year == 2014
    assert info.registration_date == "2014-03-06"
    assert info.engine_size == "1198 cc"
    assert info.inspection_status == "APK expires 2026-03-06"
    assert info.description == "Personenauto"
    assert info.raw["brandstof"][0]["brandstof_omschrijving"] == "Benzine"
    vehicles, fuel = rdw_server.requests
    assert (vehicles.method, vehicles.path, vehicles.query) == (
        "GET",
        "/resource/m9d7-ebf2.json",
        {"kenteken": "6TJR64"},
    )
    assert (fuel.path, fuel.query) == ("/resource/8ys7-d773.json", {"kenteken": "6TJR64"})
    assert "x-app-token" not in vehicles.headers


def test_hybrid_fuels_in_order(rdw_lookup: RdwLookup) -> None:
    assert rdw_lookup.lookup("gx-123-b").fuel == "Benzine / Elektriciteit"


def test_missing_optional_fields_stay_none(rdw_lookup: RdwLookup) -> None:
    info = rdw_lookup.lookup("WV 12 AB")  # a trailer: no engine, no fuel, colour "Niet geregistreerd", no APK
    assert (info.make, info.year) == ("HUMBAUR", 2019)
    assert info.colour is None
    assert info.engine_size is None and info.fuel is None and info.inspection_status is None and info.body is None


def test_without_fuel_only_one_request(rdw_server: LocalServer, make_client: MakeClient) -> None:
    info = RdwLookup(base_url=rdw_server.url, client=make_client(), fuel=False).lookup("6TJR64")
    assert info.fuel is None and "brandstof" not in info.raw
    assert len(rdw_server.requests) == 1


def test_app_token_is_sent(rdw_server: LocalServer, make_client: MakeClient) -> None:
    RdwLookup("rdw-token", base_url=rdw_server.url, client=make_client()).lookup("6TJR64")
    assert {r.headers["x-app-token"] for r in rdw_server.requests} == {"rdw-token"}


def test_empty_result_is_not_found(rdw_lookup: RdwLookup, rdw_server: LocalServer) -> None:
    with pytest.raises(LookupNotFound, match="no vehicle registered as XX999X"):
        rdw_lookup.lookup("xx-999-x")
    assert len(rdw_server.requests) == 1  # no fuel query for nothing


def test_bad_app_token_is_an_auth_error(rdw_server: LocalServer, make_client: MakeClient) -> None:
    lookup = RdwLookup("revoked", base_url=rdw_server.url, client=make_client())
    with pytest.raises(LookupAuthError, match=r"Invalid app_token specified \[invalid_app_token\]"):
        lookup.lookup("6TJR64")


def test_a_rejected_query_is_a_bad_plate(rdw_lookup: RdwLookup, rdw_server: LocalServer) -> None:
    rdw_server.then(socrata_error(400, "query.soql.type-mismatch", "Type mismatch for kenteken"))
    with pytest.raises(LookupBadPlate, match="Type mismatch for kenteken"):
        rdw_lookup.lookup("6TJR64")


def test_empty_plate_is_refused_without_a_request(rdw_lookup: RdwLookup, rdw_server: LocalServer) -> None:
    with pytest.raises(LookupBadPlate):
        rdw_lookup.lookup("--")
    assert rdw_server.requests == []


def test_throttled(rdw_lookup: RdwLookup, rdw_server: LocalServer) -> None:
    rdw_server.then(*[Reply.retry_after(429, 1, {"code": "throttled", "error": True, "message": "Throttled"})] * 3)
    with pytest.raises(LookupRateLimited) as caught:
        rdw_lookup.lookup("6TJR64")
    assert caught.value.retry_after == 1.0


def test_a_throttle_that_passes_is_waited_out(rdw_lookup: RdwLookup, rdw_server: LocalServer) -> None:
    rdw_server.then(Reply.retry_after(429, 1))
    assert rdw_lookup.lookup("6TJR64").make == "NISSAN"


def test_timeout_is_unavailable(rdw_server: LocalServer, make_client: MakeClient) -> None:
    lookup = RdwLookup(base_url=rdw_server.url, client=make_client(retries=0))
    rdw_server.then(Reply.json([], delay=0.5))
    with pytest.raises(LookupUnavailable, match="timed out"):
        lookup.lookup("6TJR64")


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b'[{"kenteken": "6TJR64", "merk": "NIS', "application/json"),
        Reply.text("<html>Socrata is down for maintenance</html>", content_type="text/html"),
        Reply.json({"kenteken": "6TJR64"}),
        Reply.json(["6TJR64"]),
    ],
    ids=["truncated-json", "html", "object", "list-of-strings"],
)
def test_malformed_bodies_are_unavailable(reply: Reply, rdw_lookup: RdwLookup, rdw_server: LocalServer) -> None:
    rdw_server.then(reply)
    with pytest.raises(LookupUnavailable, match="rdw: "):
        rdw_lookup.lookup("6TJR64")


def test_server_error_is_unavailable(rdw_lookup: RdwLookup, rdw_server: LocalServer) -> None:
    rdw_server.then(*[socrata_error(500, "internal_error", "Internal error")] * 3)
    with pytest.raises(LookupUnavailable, match=r"rdw \(127.0.0.1\): server error \(HTTP 500\) \(3 tries\)"):
        rdw_lookup.lookup("6TJR64")


def test_a_missing_dataset_is_unavailable(rdw_lookup: RdwLookup, rdw_server: LocalServer) -> None:
    rdw_server.then(socrata_error(404, "dataset.missing", "Not found"))
    with pytest.raises(LookupUnavailable, match="dataset m9d7-ebf2 not found"):
        rdw_lookup.lookup("6TJR64")


@pytest.mark.parametrize(
    "broken",
    [
        socrata_error(500, "internal_error", "Internal error"),
        Reply(200, b"[{", "application/json"),
        Reply.json({}, delay=0.5),
        socrata_error(403, "invalid_app_token", "Invalid app_token specified"),
    ],
    ids=["server-error", "malformed", "timeout", "forbidden"],
)
def test_a_failed_fuel_query_keeps_the_vehicle(
    broken: Reply, rdw: RdwService, rdw_lookup: RdwLookup, caplog: pytest.LogCaptureFixture
) -> None:
    rdw.fuel_reply = broken
    rdw_lookup.client.retries = 0
    with caplog.at_level(logging.WARNING, logger="numberplate.lookup.rdw"):
        info = rdw_lookup.lookup("6TJR64")
    assert info.make == "NISSAN" and info.model == "NOTE"
    assert info.fuel is None and "brandstof" not in info.raw
    assert "fuel of 6TJR64 not fetched" in caplog.text


def test_the_server_checks_columns(rdw_lookup: RdwLookup, rdw_server: LocalServer) -> None:
    """The fake portal itself refuses unknown columns, so a wrong parameter name could not pass unnoticed."""
    response = rdw_lookup.client.request("GET", rdw_server.url + "/resource/m9d7-ebf2.json", params={"kentekn": "X"})
    assert response.status_code == 400
    assert response.json()["code"] == "query.soql.no-such-column"


def test_unicode_digits_and_numbers_are_read_safely(rdw_lookup: RdwLookup, rdw_server: LocalServer) -> None:
    rdw_server.then(
        Reply.json([{"kenteken": "6TJR64", "datum_eerste_toelating": "²⁰¹⁴0306", "cilinderinhoud": "¹⁶⁰⁰"}]),
        Reply.json(
            [
                {"brandstof_omschrijving": "Elektriciteit", "brandstof_volgnummer": "²"},
                {"brandstof_omschrijving": "Benzine", "brandstof_volgnummer": "1"},
            ]
        ),
    )
    info = rdw_lookup.lookup("6TJR64")
    assert (info.year, info.engine_size) == (None, None)
    assert info.fuel == "Elektriciteit / Benzine"  # an unreadable order sorts first
    rdw_server.then(Reply.json([{"kenteken": 12, "datum_eerste_toelating": 20140306, "cilinderinhoud": 1600.5}]))
    info = rdw_lookup.lookup("6TJR64")
    assert (info.plate, info.year, info.registration_date, info.engine_size) == ("12", 2014, "2014-03-06", None)


def test_deeply_nested_json_is_a_malformed_answer(rdw_lookup: RdwLookup, rdw_server: LocalServer) -> None:
    rdw_server.then(Reply(200, b"[" * 100_000 + b"]" * 100_000))
    with pytest.raises(LookupUnavailable, match="malformed"):
        rdw_lookup.lookup("6TJR64")


def test_true_and_false_are_not_details(rdw_lookup: RdwLookup, rdw_server: LocalServer) -> None:
    rdw_server.then(Reply.json([{"kenteken": True, "merk": "VOLVO", "eerste_kleur": False, "inrichting": True}]))
    info = rdw_lookup.lookup("6TJR64")
    assert (info.plate, info.make, info.colour, info.body) == ("6TJR64", "VOLVO", None, None)


def test_an_app_token_no_header_can_carry_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="rdw: the app token holds characters") as e:
        RdwLookup("rdw-token\r\nX-Evil: 1")
    assert "rdw-token" not in str(e.value)
