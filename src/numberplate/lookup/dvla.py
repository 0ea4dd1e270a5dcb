"""UK vehicles from the DVLA Vehicle Enquiry Service (VES): tax, MOT, make, colour, fuel, engine, year."""

from __future__ import annotations

from typing import Any

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
    error_body,
    header_safe,
    read_json,
    whole_number,
)
from numberplate.types import VehicleInfo

PATH = "/vehicle-enquiry/v1/vehicles"


class DvlaLookup(HttpProvider):
    """Looks UK plates up in the DVLA Vehicle Enquiry Service (``POST /vehicle-enquiry/v1/vehicles``).

    The service knows Great Britain and Northern Ireland plates only; ``country`` is not sent. It has
    no model, VIN or body style; it does have tax and MOT status, which land in ``tax_status`` and
    ``inspection_status``.

    Args:
        api_key: the key the DVLA issued (sent as ``x-api-key``).
        base_url: the service root; the test environment is ``https://uat.driver-vehicle-licensing.api.gov.uk``.
        client: the HTTP client to use; by default one of its own with the standard retries and breaker.

    Raises:
        ConfigError: the API key is empty.
    """

    name = "dvla"

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = "https://driver-vehicle-licensing.api.gov.uk",
        client: HttpClient | None = None,
    ):
        if not api_key.strip():
            raise ConfigError("dvla: an API key is needed; apply for one at the DVLA developer portal")
        self._api_key = header_safe(api_key.strip(), "dvla: the API key")
        super().__init__(base_url, client)

    def lookup(self, plate: str, country: str | None = None) -> VehicleInfo:
        """The DVLA's record of a UK plate (spaces, dashes and case do not matter).

        Raises:
            LookupBadPlate: the plate is empty or the DVLA rejects its format (HTTP 400).
            LookupNotFound: no vehicle has this plate (HTTP 404).
            LookupAuthError: the API key is missing, wrong or revoked (HTTP 401/403).
            LookupRateLimited: the key's quota or rate is exceeded (HTTP 429).
            LookupUnavailable: the service is down, slow, or answered something unreadable.
        """
        vrn = compact_plate(plate)
        if not vrn:
            raise LookupBadPlate(f"dvla: {plate!r} has no letters or digits to look up")
        response = self.client.request(
            "POST",
            self.base_url + PATH,
            headers={"x-api-key": self._api_key, "Accept": "application/json"},
            json={"registrationNumber": vrn},
        )
        status = response.status_code
        if status == 200:
            body = read_json(response, "dvla")
            if not isinstance(body, dict) or not any(k in body for k in ("registrationNumber", "make")):
                raise LookupUnavailable(f"dvla: answered {vrn} with JSON that is not a vehicle record; try again later")
            return _vehicle(vrn, body)
        detail = _error_detail(response)
        if status == 400:
            raise LookupBadPlate(f"dvla: rejected {vrn!r} as a registration number ({detail})")
        if status == 404:
            raise LookupNotFound(f"dvla: no vehicle registered as {vrn} ({detail})")
        if status in (401, 403):
            raise LookupAuthError(f"dvla: the API key was refused (HTTP {status}: {detail}); check the x-api-key")
        raise LookupUnavailable(f"dvla: unexpected HTTP {status} for {vrn} ({detail}); try again later")


def _error_detail(response: httpx.Response) -> str:
    """The first error's title and detail from a VES error body, or the gateway's message."""
    body = error_body(response)
    if body is None:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            parts = [str(first[k])[:200] for k in ("title", "detail") if first.get(k)]
            if parts:
                return ": ".join(parts)
        if body.get("message"):
            return str(body["message"])[:200]
    return response.reason_phrase


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):  # not a detail: never its repr
        return None
    return str(value).strip() or None


def _with_date(status: Any, word: str, date: Any) -> str | None:
    """``"Taxed (due 2025-03-01)"``; either part may be missing."""
    status, date = _text(status), _text(date)
    if status and date:
        return f"{status} ({word} {date})"
    return status or (f"{word} {date}" if date else None)


def _vehicle(vrn: str, body: dict[str, Any]) -> VehicleInfo:
    capacity = whole_number(body.get("engineCapacity"))
    vehicle = VehicleInfo(
        plate=_text(body.get("registrationNumber")) or vrn,
        source="dvla",
        make=_text(body.get("make")),
        colour=_text(body.get("colour")),
        fuel=_text(body.get("fuelType")),
        year=whole_number(body.get("yearOfManufacture")),
        engine_size=f"{capacity} cc" if capacity else None,
        registration_date=_text(body.get("monthOfFirstRegistration")),
        tax_status=_with_date(body.get("taxStatus"), "due", body.get("taxDueDate")),
        inspection_status=_with_date(body.get("motStatus"), "expires", body.get("motExpiryDate")),
        raw=body,
    )
    return bounded(vehicle, vrn)
