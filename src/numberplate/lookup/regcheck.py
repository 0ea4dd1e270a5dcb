"""Vehicles in many countries from CarRegistrationAPI / regcheck.org.uk (XML web service or JSON with basic auth)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from numberplate.errors import (
    ConfigError,
    LookupAuthError,
    LookupBadPlate,
    LookupNotFound,
    LookupUnavailable,
)
from numberplate.lookup.http import (
    HttpClient,
    HttpProvider,
    bounded,
    compact_plate,
    parse_json,
    read_json,
    whole_number,
)
from numberplate.types import VehicleInfo

# ISO 3166-1 alpha-2 code -> the service's endpoint ("Check" alone is the UK).
ENDPOINTS: dict[str, str] = {
    "gb": "Check",
    "uk": "Check",
    "ae": "CheckUAE",
    "au": "CheckAustralia",
    "be": "CheckBelgium",
    "br": "CheckBrazil",
    "cz": "CheckCzechRepublic",
    "dk": "CheckDenmark",
    "ee": "CheckEstonia",
    "es": "CheckSpain",
    "fi": "CheckFinland",
    "fr": "CheckFrance",
    "hr": "CheckCroatia",
    "hu": "CheckHungary",
    "ie": "CheckIreland",
    "in": "CheckIndia",
    "it": "CheckItaly",
    "lk": "CheckSriLanka",
    "ng": "CheckNigeria",
    "nl": "CheckNetherlands",
    "no": "CheckNorway",
    "nz": "CheckNewZealand",
    "pt": "CheckPortugal",
    "ru": "CheckRussia",
    "se": "CheckSweden",
    "sk": "CheckSlovakia",
    "us": "CheckUSA",
    "za": "CheckSouthAfrica",
}
NEEDS_STATE = frozenset({"us", "au"})  # these endpoints take a State parameter: us-ca -> CA, au-nsw -> NSW

# The service reports failures as HTTP 500 with the .NET exception text; these words tell them apart.
_AUTH_WORDS = ("credit", "username", "password", "unauthori", "not authoris", "api key")
_NOT_FOUND_WORDS = ("no vehicle", "not found", "no record", "no data", "no result", "no match")
_BAD_PLATE_WORDS = ("invalid registration", "registration number is invalid", "invalid plate", "invalid format")


class RegcheckLookup(HttpProvider):
    """Looks plates up with CarRegistrationAPI (regcheck.org.uk and its national sites).

    The default is the XML web service, ``GET {base}/api/reg.asmx/{Endpoint}?RegistrationNumber=..&username=..``,
    which answers ``<Vehicle><vehicleJson>{...}</vehicleJson><vehicleData>...</vehicleData></Vehicle>``.
    With ``use_json=True`` it calls ``GET {base}/api/json.aspx/{Endpoint}/{plate}[/{state}]`` with HTTP
    basic auth instead, which answers the same JSON object directly.

    ``country`` picks the endpoint by ISO 3166-1 code (``None`` is the UK); the USA and Australia need the
    state as an ISO 3166-2 code, e.g. ``"us-ca"`` or ``"au-nsw"``.

    Args:
        username: the account's user name.
        password: the account's password (needed only for ``use_json``).
        base_url: the service root, e.g. ``https://www.carregistrationapi.in`` for a national site.
        client: the HTTP client to use; by default one of its own with the standard retries and breaker.
        use_json: call the JSON endpoint with basic auth instead of the XML one.

    Raises:
        ConfigError: an empty username, or ``use_json`` without a password.
    """

    name = "regcheck"

    def __init__(
        self,
        username: str,
        password: str | None = None,
        *,
        base_url: str = "https://www.regcheck.org.uk",
        client: HttpClient | None = None,
        use_json: bool = False,
    ):
        if not username.strip():
            raise ConfigError("regcheck: a username is needed; get one from regcheck.org.uk")
        if use_json and not password:
            raise ConfigError("regcheck: the JSON endpoint needs a password for basic auth; pass password=")
        self._username = username
        self._password = password
        super().__init__(base_url, client)
        self.use_json = use_json

    def __repr__(self) -> str:
        # Never the username: the XML endpoint takes it alone, so it is as secret as a key.
        return f"RegcheckLookup(base_url={self.base_url!r}, use_json={self.use_json})"

    def lookup(self, plate: str, country: str | None = None) -> VehicleInfo:
        """The vehicle registered under ``plate`` in ``country`` (ISO 3166 code; None is the UK).

        Raises:
            LookupBadPlate: an empty plate, an unsupported country, a US/Australian plate without its
                state, or a plate the service rejects.
            LookupNotFound: the service has no vehicle with this plate.
            LookupAuthError: the user name or password is wrong, or the account is out of credit.
            LookupRateLimited: the service asked us to slow down.
            LookupUnavailable: the service is down, slow, or answered something unreadable.
        """
        reg = compact_plate(plate)
        if not reg:
            raise LookupBadPlate(f"regcheck: {plate!r} has no letters or digits to look up")
        endpoint, state = _endpoint(country)
        if self.use_json:
            url = f"{self.base_url}/api/json.aspx/{endpoint}/{quote(reg, safe='')}"
            if state:
                url += f"/{quote(state, safe='')}"
            auth = (self._username, self._password or "")
            response = self.client.request("GET", url, auth=auth, is_answer=_is_service_error)
        else:
            params = {"RegistrationNumber": reg, "username": self._username}
            if state:
                params["State"] = state
            url = f"{self.base_url}/api/reg.asmx/{endpoint}"
            response = self.client.request("GET", url, params=params, is_answer=_is_service_error)
        where = f"{reg} ({endpoint}{' ' + state if state else ''})"
        if response.status_code == 200:
            payload = read_json(response, "regcheck") if self.use_json else _vehicle_json(response, where)
            if not payload:
                raise LookupNotFound(f"regcheck: no vehicle found for {where}")
            if not isinstance(payload, dict):
                raise LookupUnavailable(f"regcheck: answered {where} with JSON that is not a vehicle; try again later")
            return _vehicle(reg, payload)
        raise _error(response, where)


def _endpoint(country: str | None) -> tuple[str, str | None]:
    """The endpoint and State parameter for an ISO 3166 code such as ``"in"``, ``"us-ca"`` or ``"au-nsw"``."""
    code = (country or "gb").strip().lower().replace("_", "-")
    base, _, region = code.partition("-")
    if base not in ENDPOINTS:
        known = ", ".join(sorted(ENDPOINTS))
        raise LookupBadPlate(f"regcheck: no endpoint for country {country!r}; supported ISO codes: {known}")
    if base in NEEDS_STATE:
        if not region:
            example = "us-ca" if base == "us" else "au-nsw"
            raise LookupBadPlate(
                f"regcheck: a {base.upper()} plate is registered per state; pass the country with its "
                f"ISO 3166-2 state, e.g. {example!r}"
            )
        return ENDPOINTS[base], region.upper()
    return ENDPOINTS[base], None


def _is_service_error(response: httpx.Response) -> bool:
    """True for the HTTP 500 the service uses to answer 'no such vehicle' or 'no credit': not worth retrying."""
    return response.status_code == 500 and _classify(response.text) is not None


def _classify(text: str) -> type[LookupAuthError | LookupNotFound | LookupBadPlate] | None:
    """Which error the service's message means (its stack trace is ignored: it names parameters like username)."""
    lowered = _service_message(text).lower()
    if any(w in lowered for w in _AUTH_WORDS):
        return LookupAuthError
    if any(w in lowered for w in _NOT_FOUND_WORDS):
        return LookupNotFound
    if any(w in lowered for w in _BAD_PLATE_WORDS):
        return LookupBadPlate
    return None


def _service_message(text: str) -> str:
    """The message of a .NET error body: ``"System.Exception: Out of credit\\n   at ..."`` -> ``"Out of credit"``."""
    stripped = re.sub(r"<[^>]+>", " ", text)  # an HTML error page, or <string> wrapping
    first = next((line.strip() for line in stripped.splitlines() if line.strip()), "")
    message = re.sub(r"^[\w.]+(Exception|Error):\s*", "", first)
    return message[:200] or "no details"


def _error(response: httpx.Response, where: str) -> Exception:
    status = response.status_code
    message = _service_message(response.text)
    if status in (401, 403):
        return LookupAuthError(f"regcheck: credentials refused for {where} (HTTP {status}: {message}); check them")
    kind = _classify(response.text)
    if kind is LookupAuthError:
        return LookupAuthError(f"regcheck: account problem for {where}: {message}; check the username and credit")
    if kind is LookupNotFound:
        return LookupNotFound(f"regcheck: no vehicle found for {where} ({message})")
    if kind is LookupBadPlate or status == 400:
        return LookupBadPlate(f"regcheck: rejected {where}: {message}")
    return LookupUnavailable(f"regcheck: unexpected HTTP {status} for {where} ({message}); try again later")


def _vehicle_json(response: httpx.Response, where: str) -> Any:
    """The decoded ``<vehicleJson>`` of the XML answer (None when it is empty)."""
    try:
        root = ET.fromstring(response.content)
    except ET.ParseError as e:
        kind = response.headers.get("Content-Type", "no content type")
        raise LookupUnavailable(
            f"regcheck: answered {where} with a body that is not XML ({kind}, {len(response.content)} bytes); "
            "try again later"
        ) from e
    if _local(root.tag) != "Vehicle":
        raise LookupUnavailable(f"regcheck: answered {where} with XML <{_local(root.tag)}>, not <Vehicle>")
    node = next((el for el in root if _local(el.tag) == "vehicleJson"), None)
    text = (node.text or "").strip() if node is not None else ""
    if not text:
        return None
    try:
        return parse_json(text)
    except ValueError as e:
        raise LookupUnavailable(f"regcheck: answered {where} with a vehicleJson that is not JSON ({e})") from e


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _text(value: Any) -> str | None:
    """A field's text: plain strings and numbers, or the ``{"CurrentTextValue": ...}`` wrapper the service uses."""
    if isinstance(value, dict):
        value = value.get("CurrentTextValue")
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value).strip()
    return text or None


def _first(payload: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        text = _text(payload.get(key))
        if text:
            return text
    return None


def _iso_date(text: str | None) -> str | None:
    """``"22/2/2010"`` -> ``"2010-02-22"``; ISO dates keep their date part; anything else is kept as given."""
    if not text:
        return None
    for fmt in ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text[:10] if fmt == "%Y-%m-%d" else text, fmt).date().isoformat()
        except ValueError:
            continue
    return text


def _vehicle(reg: str, payload: dict[str, Any]) -> VehicleInfo:
    vehicle = VehicleInfo(
        plate=reg,
        source="regcheck",
        make=_first(payload, "CarMake", "MakeDescription"),
        model=_first(payload, "CarModel", "ModelDescription"),
        colour=_first(payload, "Colour", "Color"),
        fuel=_first(payload, "FuelType", "Fuel"),
        year=whole_number(_first(payload, "RegistrationYear")),
        engine_size=_first(payload, "EngineSize"),
        body=_first(payload, "BodyStyle", "VehicleType"),
        registration_date=_iso_date(_first(payload, "RegistrationDate", "DateOfFirstRegistration")),
        vin=_first(payload, "VechileIdentificationNumber", "VehicleIdentificationNumber", "Vin", "VIN"),
        description=_first(payload, "Description"),
        raw=payload,
    )
    return bounded(vehicle, reg)
