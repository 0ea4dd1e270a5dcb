"""Dutch vehicles from the RDW open data (Socrata SODA API): no key needed, an app token raises the rate limit."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from numberplate.errors import (
    LookupAuthError,
    LookupBadPlate,
    LookupError_,
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

log = logging.getLogger(__name__)

VEHICLES = "m9d7-ebf2"  # Open Data RDW: Gekentekende_voertuigen
FUEL = "8ys7-d773"  # Open Data RDW: Gekentekende_voertuigen_brandstof
_UNKNOWN = frozenset({"", "niet geregistreerd", "n.v.t."})


class RdwLookup(HttpProvider):
    """Looks Dutch plates (kentekens) up in the RDW's registered-vehicles dataset.

    ``GET {base}/resource/m9d7-ebf2.json?kenteken=XX999X`` gives the vehicle; with ``fuel=True`` a second
    call to dataset ``8ys7-d773`` adds its fuels (a hybrid has several). When that second call fails the
    vehicle is still returned, without fuel. The datasets hold no VIN and no tax status; the APK
    (periodic inspection) expiry date lands in ``inspection_status``.

    Args:
        app_token: a Socrata app token (``X-App-Token``); without one, requests share a lower throttle.
        base_url: the portal root.
        client: the HTTP client to use; by default one of its own with the standard retries and breaker.
        fuel: also fetch the fuel dataset.
    """

    name = "rdw"

    def __init__(
        self,
        app_token: str | None = None,
        *,
        base_url: str = "https://opendata.rdw.nl",
        client: HttpClient | None = None,
        fuel: bool = True,
    ):
        self._app_token = header_safe(app_token, "rdw: the app token") if app_token else None
        super().__init__(base_url, client)
        self.fuel = fuel

    def __repr__(self) -> str:
        return f"RdwLookup(base_url={self.base_url!r}, fuel={self.fuel})"

    def lookup(self, plate: str, country: str | None = None) -> VehicleInfo:
        """The RDW's record of a Dutch kenteken (dashes, spaces and case do not matter).

        Raises:
            LookupBadPlate: the plate is empty, or the portal rejected the query (HTTP 400).
            LookupNotFound: no vehicle has this kenteken (an empty result).
            LookupAuthError: the app token was refused (HTTP 401/403).
            LookupRateLimited: the portal throttled us (HTTP 429).
            LookupUnavailable: the portal is down, slow, or answered something unreadable.
        """
        kenteken = compact_plate(plate)
        if not kenteken:
            raise LookupBadPlate(f"rdw: {plate!r} has no letters or digits to look up")
        rows = self._query(VEHICLES, kenteken)
        if not rows:
            raise LookupNotFound(f"rdw: no vehicle registered as {kenteken}")
        row = rows[0]
        fuels: list[dict[str, Any]] | None = None
        if self.fuel:
            try:
                fuels = self._query(FUEL, kenteken)
            except LookupError_ as e:  # the vehicle is worth more than its fuel: keep it
                log.warning("rdw: fuel of %s not fetched: %s", kenteken, e)
        return _vehicle(kenteken, row, fuels)

    def _query(self, dataset: str, kenteken: str) -> list[dict[str, Any]]:
        headers = {"Accept": "application/json"}
        if self._app_token:
            headers["X-App-Token"] = self._app_token
        response = self.client.request(
            "GET",
            f"{self.base_url}/resource/{dataset}.json",
            params={"kenteken": kenteken},
            headers=headers,
        )
        status = response.status_code
        if status == 200:
            body = read_json(response, "rdw")
            if not isinstance(body, list) or not all(isinstance(r, dict) for r in body):
                raise LookupUnavailable(f"rdw: dataset {dataset} answered {kenteken} with JSON that is not rows")
            return body
        message = _error_message(response)
        if status == 400:
            raise LookupBadPlate(f"rdw: dataset {dataset} rejected the query for {kenteken!r}: {message}")
        if status in (401, 403):
            raise LookupAuthError(f"rdw: the app token was refused (HTTP {status}: {message}); check X-App-Token")
        if status == 404:
            raise LookupUnavailable(f"rdw: dataset {dataset} not found (HTTP 404: {message}); has it moved?")
        raise LookupUnavailable(f"rdw: unexpected HTTP {status} from dataset {dataset} ({message}); try again later")


def _error_message(response: httpx.Response) -> str:
    """The ``message`` (and ``code``) of a Socrata error body, or the start of whatever came back."""
    body = error_body(response)
    if body is None:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(body, dict) and body.get("message"):
        code = f" [{str(body['code'])[:40]}]" if body.get("code") else ""
        return f"{str(body['message'])[:200]}{code}"
    return response.reason_phrase


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value).strip()
    return None if text.lower() in _UNKNOWN else text


def _date(value: Any) -> str | None:
    """``"20140306"`` -> ``"2014-03-06"``; other shapes are kept as given."""
    text = _text(value)
    if text and len(text) == 8 and whole_number(text) is not None:
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text


def _fuel_order(row: dict[str, Any]) -> int:
    return whole_number(row.get("brandstof_volgnummer")) or 0


def _vehicle(kenteken: str, row: dict[str, Any], fuels: list[dict[str, Any]] | None) -> VehicleInfo:
    first = _date(row.get("datum_eerste_toelating"))
    cc = whole_number(_text(row.get("cilinderinhoud")))
    apk = _date(row.get("vervaldatum_apk"))
    fuel_names: list[str] = []
    for f in sorted(fuels or [], key=_fuel_order):
        name = _text(f.get("brandstof_omschrijving"))
        if name and name not in fuel_names:
            fuel_names.append(name)
    raw = dict(row)
    if fuels is not None:
        raw["brandstof"] = fuels
    vehicle = VehicleInfo(
        plate=_text(row.get("kenteken")) or kenteken,
        source="rdw",
        make=_text(row.get("merk")),
        model=_text(row.get("handelsbenaming")),
        colour=_text(row.get("eerste_kleur")),
        fuel=" / ".join(fuel_names) or None,
        year=whole_number(first[:4]) if first else None,
        engine_size=f"{cc} cc" if cc else None,
        body=_text(row.get("inrichting")),
        registration_date=first,
        inspection_status=f"APK expires {apk}" if apk else None,
        description=_text(row.get("voertuigsoort")),
        raw=raw,
    )
    return bounded(vehicle, kenteken)
