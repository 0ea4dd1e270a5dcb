"""DvlaLookup against a local server speaking the DVLA Vehicle Enquiry Service protocol."""

from __future__ import annotations

import json

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
from numberplate.lookup.dvla import DvlaLookup
from tests.lookup.servers import DVLA_VEHICLES, FakeClock, LocalServer, MakeClient, Reply, ok_app


@pytest.fixture
def dvla_lookup(dvla_server: LocalServer, make_client: MakeClient) -> DvlaLookup:
    return DvlaLookup("ves-test-key", base_url=dvla_server.url, client=make_client(name="dvla"))


def test_is_a_vehicle_lookup(dvla_lookup: DvlaLookup) -> None:
    assert isinstance(dvla_lookup, VehicleLookup)
    assert dvla_lookup.name == "dvla"
    assert "ves-test-key" not in repr(dvla_lookup)


def test_found_vehicle_is_mapped(dvla_lookup: DvlaLookup, dvla_server: LocalServer) -> None:
    info = dvla_lookup.lookup("AA19MOT")
    assert info.plate == "AA19MOT"
    assert info.source == "dvla"
    assert (info.make, info.colour, info.fuel, info.year) == ("VAUXHALL", "BLUE", "DIESEL", 2019)
    assert info.engine_size == "1598 cc"
    assert info.registration_date == "2019-05"
    assert info.tax_status == "Taxed (due 2026-01-01)"
    assert info.inspection_status == "Valid (expires 2026-05-19)"
    assert info.model is None and info.vin is None
    assert info.raw == DVLA_VEHICLES["AA19MOT"]
    [request] = dvla_server.requests
    assert request.method == "POST"
    assert request.path == "/vehicle-enquiry/v1/vehicles"
    assert request.headers["x-api-key"] == "ves-test-key"
    assert request.json() == {"registrationNumber": "AA19MOT"}


@pytest.mark.parametrize("typed", ["aa19 aaa", " AA-19-AAA ", "aa19aaa"])
def test_plate_is_sent_upper_case_without_spaces(typed: str, dvla_lookup: DvlaLookup, dvla_server: LocalServer) -> None:
    assert dvla_lookup.lookup(typed).plate == "AA19AAA"
    assert dvla_server.requests[-1].json() == {"registrationNumber": "AA19AAA"}


def test_missing_optional_fields_stay_none(dvla_lookup: DvlaLookup) -> None:
    info = dvla_lookup.lookup("AA19EEE")  # electric: no engine capacity, no MOT, no tax due date
    assert info.engine_size is None
    assert info.inspection_status is None
    assert info.tax_status == "SORN"
    assert info.fuel == "ELECTRICITY"


def test_mot_status_without_expiry(dvla_lookup: DvlaLookup) -> None:
    assert dvla_lookup.lookup("AA19AAA").inspection_status == "No details held by DVLA"


def test_unknown_plate_is_not_found(dvla_lookup: DvlaLookup) -> None:
    with pytest.raises(LookupNotFound, match=r"no vehicle registered as ZZ99ZZZ \(Vehicle Not Found"):
        dvla_lookup.lookup("ZZ99 ZZZ")


@pytest.mark.parametrize("plate", ["ER19BAD", "TOOLONG99"])
def test_rejected_format_is_a_bad_plate(plate: str, dvla_lookup: DvlaLookup) -> None:
    with pytest.raises(LookupBadPlate, match="Invalid vrn number"):
        dvla_lookup.lookup(plate)


def test_empty_plate_is_refused_without_a_request(dvla_lookup: DvlaLookup, dvla_server: LocalServer) -> None:
    with pytest.raises(LookupBadPlate):
        dvla_lookup.lookup(" - ")
    assert dvla_server.requests == []


def test_wrong_key_is_an_auth_error(dvla_server: LocalServer, make_client: MakeClient) -> None:
    lookup = DvlaLookup("wrong", base_url=dvla_server.url, client=make_client())
    with pytest.raises(LookupAuthError, match=r"HTTP 403: Forbidden"):
        lookup.lookup("AA19AAA")
    assert len(dvla_server.requests) == 1  # an auth failure is not retried


def test_an_empty_key_is_refused_up_front() -> None:
    with pytest.raises(ConfigError, match="API key"):
        DvlaLookup("")


def test_rate_limited_after_retries(dvla_lookup: DvlaLookup, dvla_server: LocalServer) -> None:
    with pytest.raises(LookupRateLimited, match="HTTP 429"):
        dvla_lookup.lookup("ER19THR")
    assert len(dvla_server.requests) == 3


def test_rate_limit_with_retry_after_is_waited_out(
    dvla_lookup: DvlaLookup, dvla_server: LocalServer, clock: FakeClock
) -> None:
    dvla_server.then(Reply.retry_after(429, 1, {"errors": [{"status": "429", "title": "Too Many Requests"}]}))
    assert dvla_lookup.lookup("AA19AAA").make == "FORD"
    assert clock.sleeps == [1.0]


@pytest.mark.parametrize("plate", ["ER19ERR", "ER19MNT"])
def test_server_errors_are_unavailable(plate: str, dvla_lookup: DvlaLookup, dvla_server: LocalServer) -> None:
    with pytest.raises(LookupUnavailable, match="try again later"):
        dvla_lookup.lookup(plate)
    assert len(dvla_server.requests) == 3


def test_a_transient_error_is_retried_away(dvla_lookup: DvlaLookup, dvla_server: LocalServer) -> None:
    dvla_server.then(Reply.json({"message": "Internal server error"}, 502), Reply(drop=True))
    assert dvla_lookup.lookup("AA19AAA").colour == "RED"
    assert len(dvla_server.requests) == 3


def test_timeout_is_unavailable(dvla_server: LocalServer, make_client: MakeClient) -> None:
    lookup = DvlaLookup("ves-test-key", base_url=dvla_server.url, client=make_client(retries=0))
    dvla_server.then(Reply.json(DVLA_VEHICLES["AA19AAA"], delay=0.5))
    with pytest.raises(LookupUnavailable, match=r"timed out after 0.2 s \(1 try\)"):
        lookup.lookup("AA19AAA")


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b'{"registrationNumber": "AA19AAA", "make": ', "application/json"),
        Reply.text("<html><body>Service maintenance</body></html>", content_type="text/html"),
        Reply.json(["AA19AAA"]),
        Reply.json({"unexpected": True}),
    ],
    ids=["truncated-json", "html", "list", "not-a-vehicle"],
)
def test_malformed_bodies_are_unavailable(reply: Reply, dvla_lookup: DvlaLookup, dvla_server: LocalServer) -> None:
    dvla_server.then(reply)
    with pytest.raises(LookupUnavailable, match="dvla: answered"):
        dvla_lookup.lookup("AA19AAA")


def test_unexpected_status_is_unavailable(dvla_lookup: DvlaLookup, dvla_server: LocalServer) -> None:
    dvla_server.then(Reply.json({"message": "Request Entity Too Large"}, 413))
    with pytest.raises(LookupUnavailable, match="unexpected HTTP 413"):
        dvla_lookup.lookup("AA19AAA")


def test_a_redirect_elsewhere_gets_neither_the_key_nor_the_body(
    dvla_lookup: DvlaLookup, dvla_server: LocalServer
) -> None:
    with LocalServer(ok_app()) as elsewhere:
        dvla_server.then(Reply(307, headers=(("Location", elsewhere.url + "/steal"),)))
        with pytest.raises(LookupUnavailable, match=r"to 127\.0\.0\.1.*check the provider's dvla_url setting"):
            dvla_lookup.lookup("AA19AAA")
        assert elsewhere.requests == []


def test_own_client_is_made_and_closed(dvla_server: LocalServer) -> None:
    lookup = DvlaLookup("ves-test-key", base_url=dvla_server.url + "/")
    assert lookup.client.name == "dvla"
    assert lookup.lookup("AA19AAA").make == "FORD"
    lookup.close()
    with pytest.raises(RuntimeError):
        lookup.client.request("GET", dvla_server.url)


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    "body",
    [DEEP, b'{"registrationNumber": "AA19AAA", "make": ' + DEEP + b"}"],
    ids=["deep-list", "deep-make"],
)
def test_deeply_nested_json_is_a_malformed_answer(
    body: bytes, dvla_lookup: DvlaLookup, dvla_server: LocalServer
) -> None:
    dvla_server.then(Reply(200, body))
    with pytest.raises(LookupUnavailable, match="malformed"):
        dvla_lookup.lookup("AA19AAA")


def test_a_deeply_nested_error_body_keeps_the_status_meaning(dvla_lookup: DvlaLookup, dvla_server: LocalServer) -> None:
    dvla_server.then(Reply(404, DEEP))
    with pytest.raises(LookupNotFound, match="no vehicle registered as AA19AAA"):
        dvla_lookup.lookup("AA19AAA")


def test_unicode_digits_are_not_numbers(dvla_lookup: DvlaLookup, dvla_server: LocalServer) -> None:
    payload = {"registrationNumber": "AA19AAA", "make": "FORD", "yearOfManufacture": "²⁰¹⁹", "engineCapacity": "¹⁶⁰⁰"}
    dvla_server.then(Reply.json(payload))
    info = dvla_lookup.lookup("AA19AAA")
    assert (info.make, info.year, info.engine_size) == ("FORD", None, None)


def test_long_fields_are_cut_to_their_column(dvla_lookup: DvlaLookup, dvla_server: LocalServer) -> None:
    dvla_server.then(Reply.json({"registrationNumber": "A" * 500, "make": "F" * 500_000, "colour": "RED"}))
    info = dvla_lookup.lookup("AA19AAA")
    assert info.make == "F" * 99 + "…"
    assert info.plate == "AA19AAA" and info.colour == "RED"


def test_non_finite_numbers_read_as_null(dvla_lookup: DvlaLookup, dvla_server: LocalServer) -> None:
    body = b'{"registrationNumber": "AA19AAA", "make": "FORD", "engineCapacity": NaN, "co2Emissions": Infinity}'
    dvla_server.then(Reply(200, body))
    info = dvla_lookup.lookup("AA19AAA")
    assert info.engine_size is None
    assert info.raw["engineCapacity"] is None and info.raw["co2Emissions"] is None
    json.dumps(info.raw, allow_nan=False)


def test_details_of_the_wrong_type_are_left_out(dvla_lookup: DvlaLookup, dvla_server: LocalServer) -> None:
    payload = {
        "registrationNumber": {"vrm": "AA19AAA"},
        "make": "FORD",
        "colour": True,
        "fuelType": ["PETROL"],
        "taxStatus": {},
        "taxDueDate": "2026-01-01",
        "motStatus": [],
        "monthOfFirstRegistration": False,
    }
    dvla_server.then(Reply.json(payload))
    info = dvla_lookup.lookup("AA19AAA")
    assert (info.plate, info.make, info.colour, info.fuel) == ("AA19AAA", "FORD", None, None)
    assert (info.tax_status, info.inspection_status, info.registration_date) == ("due 2026-01-01", None, None)


def test_a_full_width_plate_is_asked_as_the_plate_it_means(dvla_lookup: DvlaLookup, dvla_server: LocalServer) -> None:
    assert dvla_lookup.lookup("ＡＡ１９ ＡＡＡ").make == "FORD"  # typed on a CJK keyboard
    assert dvla_server.requests[-1].json() == {"registrationNumber": "AA19AAA"}


@pytest.mark.parametrize("key", ["ves-test\nkey", "ves-test-kéy", "ves\x00key"], ids=["newline", "accent", "nul"])
def test_a_key_no_header_can_carry_is_a_config_error_that_hides_it(key: str) -> None:
    with pytest.raises(ConfigError, match="dvla: the API key holds characters an HTTP header cannot carry") as e:
        DvlaLookup(key)
    assert key not in str(e.value) and "key\n" not in str(e.value)
