"""VegvesenLookup against a local server speaking Statens vegvesen's kjøretøyopplysninger (enkeltoppslag) protocol."""

from __future__ import annotations

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
from numberplate.lookup.vegvesen import VegvesenLookup
from tests.lookup.servers import VEGVESEN_VEHICLES, FakeClock, LocalServer, MakeClient, Reply, VegvesenService


@pytest.fixture
def svv_lookup(vegvesen_server: LocalServer, make_client: MakeClient) -> VegvesenLookup:
    return VegvesenLookup("svv-test-key", base_url=vegvesen_server.url, client=make_client(name="vegvesen"))


def test_is_a_vehicle_lookup(svv_lookup: VegvesenLookup) -> None:
    assert isinstance(svv_lookup, VehicleLookup)
    assert svv_lookup.name == "vegvesen"
    assert "svv-test-key" not in repr(svv_lookup)


def test_found_vehicle_is_mapped(svv_lookup: VegvesenLookup, vegvesen_server: LocalServer) -> None:
    info = svv_lookup.lookup("ek 39085")
    assert info.source == "vegvesen"
    assert info.plate == "EK39085"
    assert (info.make, info.model, info.colour, info.fuel) == ("VOLKSWAGEN", "GOLF", "Grå", "Elektrisk")
    assert info.body == "Stasjonsvogn (AC)"
    assert (info.year, info.registration_date) == (2017, "2017-06-06")
    assert info.vin == "WVWZZZAUZH8912345"
    assert info.inspection_status == "EU-kontroll due 2025-05-31"
    assert info.description == "Personbil"
    assert info.engine_size is None  # electric: no slagvolum
    assert info.raw == VEGVESEN_VEHICLES["EK39085"]
    [request] = vegvesen_server.requests
    assert (request.method, request.path) == ("GET", "/enkeltoppslag/kjoretoydata")
    assert request.query == {"kjennemerke": "EK39085"}
    assert request.headers["svv-authorization"] == "Apikey svv-test-key"


def test_hybrid_with_engine_and_foreign_first_registration(svv_lookup: VegvesenLookup) -> None:
    info = svv_lookup.lookup("AB-12345")
    assert info.fuel == "Bensin / Elektrisk"
    assert info.engine_size == "2487 cc"
    assert info.registration_date == "2020-11-15"  # first registered abroad, before Norway
    assert info.inspection_status is None


def test_missing_optional_fields_stay_none(svv_lookup: VegvesenLookup) -> None:
    info = svv_lookup.lookup("VH4242")
    assert info.plate == "VH4242"
    assert info.make is info.model is info.colour is info.fuel is info.year is info.vin is None
    assert info.raw == {"kjoretoyId": {"kjennemerke": "VH 4242"}}


@pytest.mark.parametrize("style", ["empty", "204", "404"])
def test_unknown_plate_is_not_found_however_it_is_said(
    style: str, vegvesen: VegvesenService, svv_lookup: VegvesenLookup, vegvesen_server: LocalServer
) -> None:
    vegvesen.not_found = style  # type: ignore[assignment]
    with pytest.raises(LookupNotFound, match="no vehicle registered as ZZ99999"):
        svv_lookup.lookup("ZZ 99999")
    assert len(vegvesen_server.requests) == 1


def test_not_found_message_carries_the_feilmelding(svv_lookup: VegvesenLookup) -> None:
    with pytest.raises(LookupNotFound, match=r"\(Fant ikke kjøretøy\)"):
        svv_lookup.lookup("ZZ99999")


def test_bad_key_is_an_auth_error(vegvesen_server: LocalServer, make_client: MakeClient) -> None:
    lookup = VegvesenLookup("wrong-key", base_url=vegvesen_server.url, client=make_client())
    with pytest.raises(LookupAuthError, match=r"HTTP 403: Ugyldig API-nøkkel"):
        lookup.lookup("EK39085")
    assert len(vegvesen_server.requests) == 1


def test_missing_key_header_is_an_auth_error(vegvesen_server: LocalServer, make_client: MakeClient) -> None:
    client = make_client()
    response = client.request("GET", vegvesen_server.url + "/enkeltoppslag/kjoretoydata", params={"kjennemerke": "X1"})
    assert response.status_code == 401  # what a provider that forgot the header would get; the lookup maps it:
    lookup = VegvesenLookup("svv-test-key", base_url=vegvesen_server.url, client=client)
    vegvesen_server.then(Reply.json({"feilmelding": "Mangler SVV-Authorization"}, 401))
    with pytest.raises(LookupAuthError, match="HTTP 401"):
        lookup.lookup("EK39085")


def test_an_empty_key_is_refused_up_front() -> None:
    with pytest.raises(ConfigError, match="API key"):
        VegvesenLookup("  ")


def test_a_rejected_plate_is_a_bad_plate(svv_lookup: VegvesenLookup) -> None:
    with pytest.raises(LookupBadPlate, match="Ugyldig kjennemerke"):
        svv_lookup.lookup("AB1234567890")


def test_empty_plate_is_refused_without_a_request(svv_lookup: VegvesenLookup, vegvesen_server: LocalServer) -> None:
    with pytest.raises(LookupBadPlate):
        svv_lookup.lookup("  ")
    assert vegvesen_server.requests == []


def test_daily_quota_used_up_fails_at_once(
    vegvesen: VegvesenService, svv_lookup: VegvesenLookup, vegvesen_server: LocalServer, clock: FakeClock
) -> None:
    vegvesen.daily_quota = 1
    svv_lookup.lookup("EK39085")
    with pytest.raises(LookupRateLimited, match="43200 s") as caught:
        svv_lookup.lookup("AB12345")
    assert caught.value.retry_after == 43200
    with pytest.raises(LookupRateLimited):  # blocked locally from now on: the server is not asked again
        svv_lookup.lookup("AB12345")
    assert len(vegvesen_server.requests) == 2
    assert clock.sleeps == []


def test_short_rate_limit_is_waited_out(
    svv_lookup: VegvesenLookup, vegvesen_server: LocalServer, clock: FakeClock
) -> None:
    vegvesen_server.then(Reply.retry_after(429, 2, {"feilmelding": "For mange forespørsler"}))
    assert svv_lookup.lookup("EK39085").make == "VOLKSWAGEN"
    assert clock.sleeps == [2.0]


def test_timeout_is_unavailable(vegvesen_server: LocalServer, make_client: MakeClient) -> None:
    lookup = VegvesenLookup("svv-test-key", base_url=vegvesen_server.url, client=make_client(retries=0))
    vegvesen_server.then(Reply.json({"kjoretoydataListe": []}, delay=0.5))
    with pytest.raises(LookupUnavailable, match=r"timed out after 0\.2 s"):
        lookup.lookup("EK39085")


def test_server_error_is_unavailable(svv_lookup: VegvesenLookup, vegvesen_server: LocalServer) -> None:
    vegvesen_server.then(*[Reply.json({"feilmelding": "Intern feil"}, 500)] * 3)
    with pytest.raises(LookupUnavailable, match=r"server error \(HTTP 500\) \(3 tries\)"):
        svv_lookup.lookup("EK39085")


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(200, b'{"kjoretoydataListe": [{"kjoretoyId": ', "application/json"), "not JSON"),
        (Reply.text("<html>Vedlikehold</html>", content_type="text/html"), "not JSON"),
        (Reply.json([{"kjoretoyId": {}}]), "not an object"),
        (Reply.json({"kjoretoydataListe": {"kjoretoyId": {}}}), "not a list"),
        (Reply.json({"kjoretoydataListe": ["EK39085"]}), "vehicle that is not an object"),
    ],
    ids=["truncated", "html", "list", "liste-not-list", "entry-not-object"],
)
def test_malformed_bodies_are_unavailable(
    reply: Reply, message: str, svv_lookup: VegvesenLookup, vegvesen_server: LocalServer
) -> None:
    vegvesen_server.then(reply)
    with pytest.raises(LookupUnavailable, match=message):
        svv_lookup.lookup("EK39085")


def test_a_broken_connection_is_retried_away(svv_lookup: VegvesenLookup, vegvesen_server: LocalServer) -> None:
    vegvesen_server.then(Reply(drop=True), Reply.json({"kjoretoydataListe": []}, truncate=True))
    assert svv_lookup.lookup("EK39085").model == "GOLF"
    assert len(vegvesen_server.requests) == 3


def test_unicode_digits_in_dates_are_not_a_year(svv_lookup: VegvesenLookup, vegvesen_server: LocalServer) -> None:
    entry = {"forstegangsregistrering": {"registrertForstegangNorgeDato": "²⁰¹⁹-01-01"}}
    vegvesen_server.then(Reply.json({"kjoretoydataListe": [entry]}))
    info = svv_lookup.lookup("EK39085")
    assert info.year is None and info.registration_date == "²⁰¹⁹-01-01"


def test_deeply_nested_json_is_a_malformed_answer(svv_lookup: VegvesenLookup, vegvesen_server: LocalServer) -> None:
    vegvesen_server.then(Reply(200, b'{"kjoretoydataListe": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"))
    with pytest.raises(LookupUnavailable, match="malformed"):
        svv_lookup.lookup("EK39085")


@pytest.mark.parametrize("drivstoff", [5, True, 1.5])
def test_fuels_that_are_not_a_list_are_left_out(
    drivstoff: object, svv_lookup: VegvesenLookup, vegvesen_server: LocalServer
) -> None:
    engine = {"slagvolum": 1998, "drivstoff": drivstoff}
    entry = {"godkjenning": {"tekniskGodkjenning": {"tekniskeData": {"motorOgDrivverk": {"motor": [engine]}}}}}
    vegvesen_server.then(Reply.json({"kjoretoydataListe": [entry]}))
    info = svv_lookup.lookup("EK39085")
    assert (info.fuel, info.engine_size) == (None, "1998 cc")


def test_a_key_no_header_can_carry_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="vegvesen: the API key holds characters"):
        VegvesenLookup("svv-nøkkel")
