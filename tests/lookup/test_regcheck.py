"""RegcheckLookup against a local server speaking the CarRegistrationAPI (regcheck.org.uk) protocol."""

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
from numberplate.lookup.regcheck import ENDPOINTS, RegcheckLookup
from tests.lookup.servers import (
    REGCHECK_ENDPOINTS,
    REGCHECK_VEHICLES,
    LocalServer,
    MakeClient,
    RegcheckService,
    Reply,
    asmx_error,
    regcheck_xml,
)


@pytest.fixture
def xml_lookup(regcheck_server: LocalServer, make_client: MakeClient) -> RegcheckLookup:
    return RegcheckLookup("alice", base_url=regcheck_server.url, client=make_client(name="regcheck"))


@pytest.fixture
def json_lookup(regcheck_server: LocalServer, make_client: MakeClient) -> RegcheckLookup:
    return RegcheckLookup("alice", "s3cret", base_url=regcheck_server.url, client=make_client(), use_json=True)


def test_is_a_vehicle_lookup(xml_lookup: RegcheckLookup) -> None:
    assert isinstance(xml_lookup, VehicleLookup)
    assert xml_lookup.name == "regcheck"
    assert "alice" not in repr(xml_lookup)  # the XML endpoint needs nothing but the username


def test_uk_vehicle_from_the_xml_endpoint(xml_lookup: RegcheckLookup, regcheck_server: LocalServer) -> None:
    info = xml_lookup.lookup("yk08 kpt")
    assert info.source == "regcheck"
    assert info.plate == "YK08KPT"
    assert (info.make, info.model, info.fuel, info.year) == ("Vauxhall", "Corsa", "Petrol", 2008)
    assert info.engine_size == "1364CC"
    assert info.description == "2008 Vauxhall Corsa Club, 1364CC Petrol, 3DR, Manual"
    assert info.raw == REGCHECK_VEHICLES[("Check", "YK08KPT")]
    [request] = regcheck_server.requests
    assert (request.method, request.path) == ("GET", "/api/reg.asmx/Check")
    assert request.query == {"RegistrationNumber": "YK08KPT", "username": "alice"}


def test_indian_vehicle_maps_every_field(xml_lookup: RegcheckLookup, regcheck_server: LocalServer) -> None:
    info = xml_lookup.lookup("JK-02-AB-1234", "in")
    assert regcheck_server.requests[0].path == "/api/reg.asmx/CheckIndia"
    assert (info.make, info.model, info.colour, info.fuel) == ("FORD", "FUSION", "MORELLO", "DIESEL")
    assert info.vin == "MAJBXXMRJB9E12345"  # the service spells it VechileIdentificationNumber
    assert info.registration_date == "2010-02-22"
    assert info.engine_size == "1596"
    assert info.raw["Location"] == "RTO JAMMU"


def test_missing_fields_and_a_plain_string_model(xml_lookup: RegcheckLookup) -> None:
    info = xml_lookup.lookup("MH12DE1433", "IN")
    assert info.model == "SWIFT DZIRE VDI"
    assert info.make == "MARUTI SUZUKI INDIA LTD"
    assert info.colour is None and info.fuel is None and info.vin is None
    assert info.engine_size is None  # an empty CurrentTextValue
    assert info.registration_date == "2014-09-03"
    assert "NumberOfSeats" not in info.raw


def test_usa_sends_the_state(xml_lookup: RegcheckLookup, regcheck_server: LocalServer) -> None:
    info = xml_lookup.lookup("7xyz123", "us-ca")
    request = regcheck_server.requests[0]
    assert request.path == "/api/reg.asmx/CheckUSA"
    assert request.query["State"] == "CA"
    assert (info.make, info.model, info.body) == ("Honda", "Accord", "Sedan 4D")
    assert info.vin == "1HGCP2F86CA012345"


@pytest.mark.parametrize("country", ["us", "au"])
def test_usa_and_australia_without_a_state_are_refused(
    country: str, xml_lookup: RegcheckLookup, regcheck_server: LocalServer
) -> None:
    with pytest.raises(LookupBadPlate, match="ISO 3166-2 state"):
        xml_lookup.lookup("7XYZ123", country)
    assert regcheck_server.requests == []


def test_other_countries_use_their_endpoint(xml_lookup: RegcheckLookup, regcheck_server: LocalServer) -> None:
    info = xml_lookup.lookup("191-D-12345", "ie")
    assert regcheck_server.requests[0].path == "/api/reg.asmx/CheckIreland"
    assert (info.make, info.body, info.colour, info.fuel) == ("TOYOTA", "Saloon", "Silver", "Hybrid")


def test_unknown_country_is_refused(xml_lookup: RegcheckLookup, regcheck_server: LocalServer) -> None:
    with pytest.raises(LookupBadPlate, match=r"no endpoint for country 'xx'; supported ISO codes: ae, au"):
        xml_lookup.lookup("AB123", "xx")
    assert regcheck_server.requests == []


def test_every_mapped_endpoint_is_one_the_service_has() -> None:
    assert set(ENDPOINTS.values()) <= REGCHECK_ENDPOINTS


def test_no_vehicle_is_not_found_without_retrying(xml_lookup: RegcheckLookup, regcheck_server: LocalServer) -> None:
    with pytest.raises(LookupNotFound, match=r"no vehicle found for ZZ99ZZZ \(Check\) \(No vehicles found\)"):
        xml_lookup.lookup("ZZ99ZZZ")
    assert len(regcheck_server.requests) == 1


def test_out_of_credit_is_an_auth_error(regcheck_server: LocalServer, make_client: MakeClient) -> None:
    lookup = RegcheckLookup("broke", base_url=regcheck_server.url, client=make_client())
    with pytest.raises(LookupAuthError, match="Out of credit; check the username and credit"):
        lookup.lookup("YK08KPT")
    assert len(regcheck_server.requests) == 1


def test_unknown_username_is_an_auth_error(regcheck_server: LocalServer, make_client: MakeClient) -> None:
    lookup = RegcheckLookup("mallory", base_url=regcheck_server.url, client=make_client())
    with pytest.raises(LookupAuthError, match="Invalid username"):
        lookup.lookup("YK08KPT")


def test_credit_is_spent_only_on_found_vehicles(xml_lookup: RegcheckLookup, regcheck: RegcheckService) -> None:
    xml_lookup.lookup("YK08KPT")
    with pytest.raises(LookupNotFound):
        xml_lookup.lookup("ZZ99ZZZ")
    assert regcheck.credits["alice"] == 9


def test_an_unexplained_500_is_retried_then_unavailable(
    xml_lookup: RegcheckLookup, regcheck_server: LocalServer
) -> None:
    regcheck_server.then(
        *[asmx_error("Object reference not set to an instance of an object.", "System.NullReferenceException")] * 3
    )
    with pytest.raises(LookupUnavailable, match=r"server error \(HTTP 500\) \(3 tries\)"):
        xml_lookup.lookup("YK08KPT")
    assert len(regcheck_server.requests) == 3


def test_a_transient_500_is_retried_away(xml_lookup: RegcheckLookup, regcheck_server: LocalServer) -> None:
    regcheck_server.then(Reply.text("<html>Runtime Error</html>", 500, "text/html"), Reply.json({}, 503))
    assert xml_lookup.lookup("YK08KPT").make == "Vauxhall"


def test_rate_limited(xml_lookup: RegcheckLookup, regcheck_server: LocalServer) -> None:
    regcheck_server.then(*[Reply.retry_after(429, 5)] * 3)
    with pytest.raises(LookupRateLimited) as caught:
        xml_lookup.lookup("YK08KPT")
    assert caught.value.retry_after == 5.0


def test_timeout_is_unavailable(regcheck_server: LocalServer, make_client: MakeClient) -> None:
    lookup = RegcheckLookup("alice", base_url=regcheck_server.url, client=make_client(retries=0))
    regcheck_server.then(Reply(200, regcheck_xml({"Description": "late"}), "text/xml", delay=0.5))
    with pytest.raises(LookupUnavailable, match="timed out"):
        lookup.lookup("YK08KPT")


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(200, b"<Vehicle xmlns='http://regcheck.org.uk'><vehicleJson>{", "text/xml"), "not XML"),
        (Reply.text("<html><body><p>Down for maintenance<br></body></html>", content_type="text/html"), "not XML"),
        (Reply.text("<html><body>Maintenance</body></html>", content_type="text/html"), "<html>, not <Vehicle>"),
        (Reply.json({"Description": "json, not xml"}), "not XML"),
        (Reply(200, b"<string xmlns='http://regcheck.org.uk'>oops</string>", "text/xml"), "not <Vehicle>"),
        (
            Reply(
                200, b"<Vehicle xmlns='http://regcheck.org.uk'><vehicleJson>{broken</vehicleJson></Vehicle>", "text/xml"
            ),
            "vehicleJson that is not JSON",
        ),
        (
            Reply(200, b"<Vehicle xmlns='http://regcheck.org.uk'><vehicleJson>[1]</vehicleJson></Vehicle>", "text/xml"),
            "not a vehicle",
        ),
    ],
    ids=["truncated-xml", "html", "xhtml", "json", "wrong-root", "broken-json", "json-list"],
)
def test_malformed_answers_are_unavailable(
    reply: Reply, message: str, xml_lookup: RegcheckLookup, regcheck_server: LocalServer
) -> None:
    regcheck_server.then(reply)
    with pytest.raises(LookupUnavailable, match=message):
        xml_lookup.lookup("YK08KPT")


def test_empty_vehicle_json_is_not_found(xml_lookup: RegcheckLookup, regcheck_server: LocalServer) -> None:
    regcheck_server.then(Reply(200, b'<Vehicle xmlns="http://regcheck.org.uk"><vehicleJson /></Vehicle>', "text/xml"))
    with pytest.raises(LookupNotFound):
        xml_lookup.lookup("YK08KPT")


# --- the JSON endpoint with basic auth ----------------------------------------------------------------


def test_json_endpoint_with_basic_auth(json_lookup: RegcheckLookup, regcheck_server: LocalServer) -> None:
    info = json_lookup.lookup("yk08 kpt")
    assert (info.make, info.model, info.year) == ("Vauxhall", "Corsa", 2008)
    [request] = regcheck_server.requests
    assert request.path == "/api/json.aspx/Check/YK08KPT"
    assert request.headers["authorization"] == "Basic YWxpY2U6czNjcmV0"  # alice:s3cret


def test_json_endpoint_puts_the_state_in_the_path(json_lookup: RegcheckLookup, regcheck_server: LocalServer) -> None:
    assert json_lookup.lookup("7XYZ123", "us-ca").vin == "1HGCP2F86CA012345"
    assert regcheck_server.requests[0].path == "/api/json.aspx/CheckUSA/7XYZ123/CA"


def test_json_endpoint_wrong_password_is_an_auth_error(regcheck_server: LocalServer, make_client: MakeClient) -> None:
    lookup = RegcheckLookup("alice", "wrong", base_url=regcheck_server.url, client=make_client(), use_json=True)
    with pytest.raises(LookupAuthError, match="HTTP 401"):
        lookup.lookup("YK08KPT")


def test_json_endpoint_not_found(json_lookup: RegcheckLookup) -> None:
    with pytest.raises(LookupNotFound):
        json_lookup.lookup("ZZ99ZZZ")


def test_json_endpoint_malformed_body(json_lookup: RegcheckLookup, regcheck_server: LocalServer) -> None:
    regcheck_server.then(Reply(200, b'{"Description": "cut', "application/json"))
    with pytest.raises(LookupUnavailable, match="not JSON"):
        json_lookup.lookup("YK08KPT")


def test_an_empty_username_is_refused_up_front() -> None:
    with pytest.raises(ConfigError, match="username"):
        RegcheckLookup(" ")


def test_json_endpoint_needs_a_password() -> None:
    with pytest.raises(ConfigError, match="password"):
        RegcheckLookup("alice", use_json=True)


def test_unicode_digits_are_not_a_year(xml_lookup: RegcheckLookup, regcheck_server: LocalServer) -> None:
    regcheck_server.then(
        Reply(200, regcheck_xml({"CarMake": {"CurrentTextValue": "Ford"}, "RegistrationYear": "²⁰¹⁹"}), "text/xml")
    )
    info = xml_lookup.lookup("YK08KPT")
    assert (info.make, info.year) == ("Ford", None)


def test_deeply_nested_vehicle_json_is_unavailable(xml_lookup: RegcheckLookup, regcheck_server: LocalServer) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    regcheck_server.then(Reply(200, b"<Vehicle><vehicleJson>" + deep + b"</vehicleJson></Vehicle>", "text/xml"))
    with pytest.raises(LookupUnavailable, match="vehicleJson that is not JSON"):
        xml_lookup.lookup("YK08KPT")
