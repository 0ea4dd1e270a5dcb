"""Norwegian vehicles from Statens vegvesen's technical vehicle data API (kjøretøyopplysninger, enkeltoppslag)."""

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

PATH = "/enkeltoppslag/kjoretoydata"


class VegvesenLookup(HttpProvider):
    """Looks Norwegian plates (kjennemerker) up in Statens vegvesen's Autosys technical data.

    ``GET {base}/enkeltoppslag/kjoretoydata?kjennemerke=AB12345`` with ``SVV-Authorization: Apikey <key>``
    answers ``{"kjoretoydataListe": [...]}``. An unknown plate may come back as an empty list (with a
    ``feilmelding``), as HTTP 204 or as HTTP 404; all three raise ``LookupNotFound``. The periodic
    inspection deadline (EU-kontroll) lands in ``inspection_status``.

    Args:
        api_key: the key from Statens vegvesen.
        base_url: the service root.
        client: the HTTP client to use; by default one of its own with the standard retries and breaker.

    Raises:
        ConfigError: the API key is empty.
    """

    name = "vegvesen"

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = "https://akfell-datautlevering.atlas.vegvesen.no",
        client: HttpClient | None = None,
    ):
        if not api_key.strip():
            raise ConfigError("vegvesen: an API key is needed; apply for one at Statens vegvesen")
        self._api_key = header_safe(api_key.strip(), "vegvesen: the API key")
        super().__init__(base_url, client)

    def lookup(self, plate: str, country: str | None = None) -> VehicleInfo:
        """Statens vegvesen's technical record of a Norwegian plate (spaces, dashes and case do not matter).

        Raises:
            LookupBadPlate: the plate is empty or the service rejects it (HTTP 400).
            LookupNotFound: no vehicle has this plate.
            LookupAuthError: the API key is missing, wrong or not allowed here (HTTP 401/403).
            LookupRateLimited: the key's quota is used up (HTTP 429).
            LookupUnavailable: the service is down, slow, or answered something unreadable.
        """
        kjennemerke = compact_plate(plate)
        if not kjennemerke:
            raise LookupBadPlate(f"vegvesen: {plate!r} has no letters or digits to look up")
        response = self.client.request(
            "GET",
            self.base_url + PATH,
            params={"kjennemerke": kjennemerke},
            headers={"SVV-Authorization": f"Apikey {self._api_key}", "Accept": "application/json"},
        )
        status = response.status_code
        if status == 204 or (status == 200 and not response.content.strip()):
            raise LookupNotFound(f"vegvesen: no vehicle registered as {kjennemerke}")
        if status == 200:
            body = read_json(response, "vegvesen")
            if not isinstance(body, dict):
                raise LookupUnavailable(f"vegvesen: answered {kjennemerke} with JSON that is not an object")
            vehicles = body.get("kjoretoydataListe")
            if vehicles is not None and not isinstance(vehicles, list):
                raise LookupUnavailable(f"vegvesen: answered {kjennemerke} with a kjoretoydataListe that is not a list")
            if not vehicles:
                why = f" ({str(body['feilmelding'])[:200]})" if body.get("feilmelding") else ""
                raise LookupNotFound(f"vegvesen: no vehicle registered as {kjennemerke}{why}")
            if not isinstance(vehicles[0], dict):
                raise LookupUnavailable(f"vegvesen: answered {kjennemerke} with a vehicle that is not an object")
            return _vehicle(kjennemerke, vehicles[0])
        message = _error_message(response)
        if status == 404:
            raise LookupNotFound(f"vegvesen: no vehicle registered as {kjennemerke} ({message})")
        if status == 400:
            raise LookupBadPlate(f"vegvesen: rejected {kjennemerke!r}: {message}")
        if status in (401, 403):
            raise LookupAuthError(
                f"vegvesen: the API key was refused (HTTP {status}: {message}); check SVV-Authorization"
            )
        raise LookupUnavailable(f"vegvesen: unexpected HTTP {status} for {kjennemerke} ({message}); try again later")


def _error_message(response: httpx.Response) -> str:
    body = error_body(response)
    if body is None:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(body, dict):
        for key in ("feilmelding", "message", "error", "detail"):
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])[:200]
    return response.reason_phrase


def _get(node: Any, *path: str | int) -> Any:
    """``node[p0][p1]...`` or None as soon as a step is missing or of the wrong kind."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, list) or len(node) <= step:
                return None
        elif not isinstance(node, dict):
            return None
        node = node[step] if isinstance(step, int) else node.get(step)
    return node


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value).strip()
    return text or None


def _code(value: Any) -> str | None:
    """The readable name of a code value: ``{"kodeNavn": "Grå", "kodeVerdi": "05"}`` -> ``"Grå"``."""
    if not isinstance(value, dict):
        return _text(value)
    return _text(value.get("kodeNavn")) or _text(value.get("kodeBeskrivelse")) or _text(value.get("kodeVerdi"))


def _vehicle(kjennemerke: str, entry: dict[str, Any]) -> VehicleInfo:
    technical = _get(entry, "godkjenning", "tekniskGodkjenning", "tekniskeData")
    general = _get(technical, "generelt")
    body = _get(technical, "karosseriOgLasteplan")
    engines = _get(technical, "motorOgDrivverk", "motor")
    fuels: list[str] = []
    volume: Any = None
    for engine in engines if isinstance(engines, list) else []:
        if not isinstance(engine, dict):
            continue
        volume = volume or engine.get("slagvolum")
        drivstoff = engine.get("drivstoff")
        for fuel in drivstoff if isinstance(drivstoff, list) else []:
            name = _code(_get(fuel, "drivstoffKode"))
            if name and name not in fuels:
                fuels.append(name)
    first = _text(_get(entry, "godkjenning", "forstegangsGodkjenning", "forstegangRegistrertDato")) or _text(
        _get(entry, "forstegangsregistrering", "registrertForstegangNorgeDato")
    )
    deadline = _text(_get(entry, "periodiskKjoretoyKontroll", "kontrollfrist"))
    cc = whole_number(volume)
    vehicle = VehicleInfo(
        plate=kjennemerke,
        source="vegvesen",
        make=_text(_get(general, "merke", 0, "merke")),
        model=_text(_get(general, "handelsbetegnelse", 0)),
        colour=_code(_get(body, "rFarge", 0)),
        fuel=" / ".join(fuels) or None,
        year=whole_number(first[:4]) if first else None,
        engine_size=f"{cc} cc" if cc else None,
        body=_code(_get(body, "karosseritype")),
        registration_date=first[:10] if first else None,
        inspection_status=f"EU-kontroll due {deadline}" if deadline else None,
        vin=_text(_get(entry, "kjoretoyId", "understellsnummer")),
        description=_text(_get(entry, "godkjenning", "tekniskGodkjenning", "kjoretoyklassifisering", "beskrivelse")),
        raw=entry,
    )
    return bounded(vehicle, kjennemerke)
