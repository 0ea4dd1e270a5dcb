"""Local HTTP servers that speak each lookup provider's documented protocol, for offline, deterministic tests.

``LocalServer(app)`` runs a real HTTP/1.1 server on 127.0.0.1 (port 0) in a daemon thread and answers each
request with ``app(request) -> Reply``; replies queued with ``server.then(...)`` are served first, in order, so
a test can script "503 twice, then the real answer". A ``Reply`` can also be slow (``delay``), cut off
(``truncate``), never come (``drop``), come a byte at a time (``drip``) or without a length (``length=False``).
The provider services below check method, path, headers and parameters the way the real services do and answer
with their documented bodies and errors. ``FakeClock`` stands in for ``time.monotonic``/``time.sleep`` so that
backoff and Retry-After waits are instant and recorded.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from numberplate.lookup.http import HttpClient


@dataclass(frozen=True)
class Request:
    """What the server received: header names are lower case, repeated query parameters keep the last value."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8")))


@dataclass(frozen=True)
class Reply:
    """How to answer: a status, a body and headers, optionally late, truncated or not at all."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0  # seconds to wait before answering (longer than the client's timeout: a slow server)
    drop: bool = False  # close the connection without answering
    truncate: bool = False  # announce the whole body's length, send half of it, close
    drip: float = 0.0  # send the body a byte at a time, this many seconds apart (a trickling server)
    drip_headers: bool = False  # with drip: the status line and headers too
    length: bool = True  # False: no Content-Length; the body ends when the connection closes

    @classmethod
    def json(cls, payload: Any, status: int = 200, **kwargs: Any) -> Reply:
        return cls(status, json.dumps(payload).encode("utf-8"), **kwargs)

    @classmethod
    def text(
        cls, text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8", **kwargs: Any
    ) -> Reply:
        return cls(status, text.encode("utf-8"), content_type, **kwargs)

    @classmethod
    def retry_after(cls, status: int, value: str | float, payload: Any = None) -> Reply:
        body = json.dumps(payload if payload is not None else {"message": "Too Many Requests"}).encode()
        return cls(status, body, headers=(("Retry-After", str(value)),))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that give up on slow replies break the pipe; that is expected, not worth a traceback."""


class LocalServer:
    """A real HTTP server on 127.0.0.1 answering with ``app``; a context manager that starts and stops it."""

    def __init__(self, app: Callable[[Request], Reply]):
        self.app = app
        self.requests: list[Request] = []
        self.script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def then(self, *replies: Reply) -> LocalServer:
        """Serve these replies to the next requests, in order, before ``app`` answers again."""
        with self._lock:
            self.script.extend(replies)
        return self

    def answer(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            scripted = self.script.popleft() if self.script else None
        return scripted if scripted is not None else self.app(request)


def _handler_for(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; without this, Nagle plus delayed ACKs add 40 ms a reply.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=unquote(parts.path),
                query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            reply = server.answer(request)
            if reply.delay:
                time.sleep(reply.delay)
            if reply.drop:
                self.close_connection = True
                return
            if reply.drip:
                self._drip(reply)
                return
            self.send_response(reply.status)
            if reply.content_type and reply.status != 204:
                self.send_header("Content-Type", reply.content_type)
            for name, value in reply.headers:
                self.send_header(name, value)
            if reply.status != 204 and reply.length:
                self.send_header("Content-Length", str(len(reply.body)))
            if reply.truncate or not reply.length:
                self.send_header("Connection", "close")
            self.end_headers()
            if reply.status == 204:
                return
            if reply.truncate:
                self.wfile.write(reply.body[: len(reply.body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(reply.body)
            if not reply.length:
                self.close_connection = True

        def _drip(self, reply: Reply) -> None:
            """Headers at once (unless ``drip_headers``), then the body a byte at a time until the client leaves."""
            self.close_connection = True
            head = [f"HTTP/1.1 {reply.status} OK", f"Content-Length: {len(reply.body)}", "Connection: close"]
            if reply.content_type:
                head.append(f"Content-Type: {reply.content_type}")
            raw = ("\r\n".join(head) + "\r\n\r\n").encode()
            slow = raw + reply.body if reply.drip_headers else reply.body
            try:
                if not reply.drip_headers:
                    self.wfile.write(raw)
                    self.wfile.flush()
                for i in range(len(slow)):
                    self.wfile.write(slow[i : i + 1])
                    self.wfile.flush()
                    time.sleep(reply.drip)
            except OSError:  # the client gave up: what a trickling server should see
                return

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    return Handler


class FakeClock:
    """A monotonic clock that moves only when something sleeps on it (or a test advances it).

    Waits become instant and every one of them is recorded in ``sleeps``.
    """

    def __init__(self, start: float = 1000.0):
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


MakeClient = Callable[..., "HttpClient"]
"""The ``make_client`` fixture: keyword overrides in, a fast ``HttpClient`` on the fake clock out."""


def ok_app(payload: Any = None) -> Callable[[Request], Reply]:
    """An app that answers every request with 200 and ``payload`` (default ``{"ok": true}``)."""
    body = payload if payload is not None else {"ok": True}
    return lambda request: Reply.json(body)


# ---------------------------------------------------------------------------------------------------
# DVLA Vehicle Enquiry Service: POST /vehicle-enquiry/v1/vehicles, x-api-key, {"registrationNumber": ...}
# ---------------------------------------------------------------------------------------------------

DVLA_VEHICLES: dict[str, dict[str, Any]] = {
    "AA19AAA": {
        "registrationNumber": "AA19AAA",
        "artEndDate": "2025-03-30",
        "co2Emissions": 300,
        "engineCapacity": 2000,
        "euroStatus": "EURO1",
        "markedForExport": False,
        "fuelType": "PETROL",
        "motStatus": "No details held by DVLA",
        "revenueWeight": 0,
        "colour": "RED",
        "make": "FORD",
        "typeApproval": "M1",
        "yearOfManufacture": 2019,
        "taxDueDate": "2026-03-30",
        "taxStatus": "Taxed",
        "dateOfLastV5CIssued": "2019-05-20",
        "wheelplan": "2 AXLE RIGID BODY",
        "monthOfFirstDvlaRegistration": "2019-03",
        "monthOfFirstRegistration": "2019-03",
        "realDrivingEmissions": "1",
    },
    "AA19MOT": {
        "registrationNumber": "AA19MOT",
        "co2Emissions": 135,
        "engineCapacity": 1598,
        "markedForExport": False,
        "fuelType": "DIESEL",
        "motStatus": "Valid",
        "motExpiryDate": "2026-05-19",
        "colour": "BLUE",
        "make": "VAUXHALL",
        "yearOfManufacture": 2019,
        "taxDueDate": "2026-01-01",
        "taxStatus": "Taxed",
        "dateOfLastV5CIssued": "2021-07-02",
        "wheelplan": "2 AXLE RIGID BODY",
        "monthOfFirstRegistration": "2019-05",
    },
    # An electric car: the DVLA sends no engineCapacity, and this one has no MOT yet.
    "AA19EEE": {
        "registrationNumber": "AA19EEE",
        "co2Emissions": 0,
        "markedForExport": False,
        "fuelType": "ELECTRICITY",
        "colour": "WHITE",
        "make": "TESLA",
        "yearOfManufacture": 2019,
        "taxStatus": "SORN",
        "monthOfFirstRegistration": "2019-03",
    },
}

_DVLA_ERRORS = {
    400: ("105", "Invalid vrn number", "Invalid format for field - vehicle registration number"),
    404: ("404", "Vehicle Not Found", "Record for vehicle not found"),
    429: ("429", "Too Many Requests", "Too many requests have been made"),
    500: ("500", "Internal Server Error", "System Error occurred"),
    503: ("503", "Service Unavailable", "The service is currently unavailable"),
}
# The DVLA's documented test-environment registrations that answer with an error.
DVLA_TEST_ERRORS = {"ER19BAD": 400, "ER19NFD": 404, "ER19THR": 429, "ER19ERR": 500, "ER19MNT": 503}


def dvla_error(status: int) -> Reply:
    code, title, detail = _DVLA_ERRORS[status]
    return Reply.json({"errors": [{"status": str(status), "code": code, "title": title, "detail": detail}]}, status)


@dataclass
class DvlaService:
    """The DVLA VES API: checks the path, method, key and JSON body; knows ``DVLA_VEHICLES``."""

    api_key: str = "ves-test-key"
    vehicles: dict[str, dict[str, Any]] = field(default_factory=lambda: dict(DVLA_VEHICLES))

    def __call__(self, request: Request) -> Reply:
        if request.path != "/vehicle-enquiry/v1/vehicles":
            return Reply.json({"message": "Not Found"}, 404)
        if request.method != "POST":
            return Reply.json({"message": "Method Not Allowed"}, 405)
        if request.headers.get("x-api-key") != self.api_key:
            return Reply.json({"message": "Forbidden"}, 403)  # the API gateway's answer, not a VES error
        if not request.headers.get("content-type", "").startswith("application/json"):
            return dvla_error(400)
        try:
            vrn = request.json()["registrationNumber"]
        except (ValueError, KeyError, TypeError):
            return dvla_error(400)
        if not isinstance(vrn, str) or not re.fullmatch(r"[A-Z0-9]{1,7}", vrn):
            return dvla_error(400)
        if vrn in DVLA_TEST_ERRORS:
            return dvla_error(DVLA_TEST_ERRORS[vrn])
        if vrn not in self.vehicles:
            return dvla_error(404)
        return Reply.json(self.vehicles[vrn])


# ---------------------------------------------------------------------------------------------------
# regcheck.org.uk / CarRegistrationAPI: GET /api/reg.asmx/{Endpoint}?RegistrationNumber=..&username=..
# (XML with the vehicle as JSON text inside) and GET /api/json.aspx/{Endpoint}/{plate}[/{state}] (basic auth)
# ---------------------------------------------------------------------------------------------------

REGCHECK_VEHICLES: dict[tuple[str, str], dict[str, Any]] = {
    ("Check", "YK08KPT"): {
        "ABICode": "32130768",
        "Description": "2008 Vauxhall Corsa Club, 1364CC Petrol, 3DR, Manual",
        "RegistrationYear": "2008",
        "CarMake": {"CurrentTextValue": "Vauxhall"},
        "CarModel": {"CurrentTextValue": "Corsa"},
        "EngineSize": {"CurrentTextValue": "1364CC"},
        "FuelType": {"CurrentTextValue": "Petrol"},
        "MakeDescription": "Vauxhall",
        "ModelDescription": "Corsa",
        "Immobiliser": {"CurrentTextValue": ""},
        "NumberOfSeats": {"CurrentTextValue": 5},
        "IndicativeValue": {"CurrentTextValue": 0},
        "DriverSide": {"CurrentTextValue": "RHD"},
        "Transmission": {"CurrentTextValue": "Manual"},
        "NumberOfDoors": {"CurrentTextValue": "3"},
        "ImageUrl": "http://www.regcheck.org.uk/image.aspx/@VmF1eGhhbGwgQ29yc2E=",
        "VehicleInsuranceGroup": "4",
    },
    ("CheckIndia", "JK02AB1234"): {
        "Description": "FORD FUSION",
        "RegistrationYear": "2009",
        "CarMake": {"CurrentTextValue": "FORD"},
        "CarModel": {"CurrentTextValue": "FUSION"},
        "EngineSize": {"CurrentTextValue": "1596"},
        "MakeDescription": {"CurrentTextValue": "FORD"},
        "ModelDescription": {"CurrentTextValue": "FUSION"},
        "VechileIdentificationNumber": "MAJBXXMRJB9E12345",
        "NumberOfSeats": {"CurrentTextValue": "5"},
        "Colour": "MORELLO",
        "EngineNumber": "MAJBXXMRJB9E12345",
        "FuelType": {"CurrentTextValue": "DIESEL"},
        "RegistrationDate": "22/2/2010",
        "Location": "RTO JAMMU",
        "ImageUrl": "http://in.carregistrationapi.com/image.aspx/@Rk9SRCBGVVNJT04g",
    },
    # Sparse Indian record: no seats, model as a plain string, no colour or fuel.
    ("CheckIndia", "MH12DE1433"): {
        "Description": "MARUTI SWIFT DZIRE VDI",
        "RegistrationYear": "2014",
        "CarMake": {"CurrentTextValue": "MARUTI SUZUKI INDIA LTD"},
        "CarModel": "SWIFT DZIRE VDI",
        "EngineSize": {"CurrentTextValue": ""},
        "RegistrationDate": "03/09/2014",
        "Location": "PUNE",
    },
    ("CheckUSA:CA", "7XYZ123"): {
        "Description": "Honda Accord EX-L",
        "RegistrationYear": "2012",
        "CarMake": {"CurrentTextValue": "Honda"},
        "CarModel": {"CurrentTextValue": "Accord"},
        "BodyStyle": {"CurrentTextValue": "Sedan 4D"},
        "EngineSize": {"CurrentTextValue": "2.4L L4 DOHC 16V"},
        "VechileIdentificationNumber": "1HGCP2F86CA012345",
        "ImageUrl": "http://www.carregistrationapi.com/image.aspx/@SG9uZGEgQWNjb3Jk",
    },
    ("CheckIreland", "191D12345"): {
        "Description": "TOYOTA COROLLA",
        "RegistrationYear": "2019",
        "CarMake": {"CurrentTextValue": "TOYOTA"},
        "CarModel": {"CurrentTextValue": "COROLLA"},
        "EngineSize": {"CurrentTextValue": "1798"},
        "FuelType": {"CurrentTextValue": "Hybrid"},
        "BodyStyle": {"CurrentTextValue": "Saloon"},
        "Colour": "Silver",
    },
}

REGCHECK_ENDPOINTS = frozenset(
    {
        "Check", "CheckAustralia", "CheckBelgium", "CheckBrazil", "CheckCroatia", "CheckCzechRepublic",
        "CheckDenmark", "CheckEstonia", "CheckFinland", "CheckFrance", "CheckHungary", "CheckIndia",
        "CheckIreland", "CheckItaly", "CheckNetherlands", "CheckNewZealand", "CheckNigeria", "CheckNorway",
        "CheckPortugal", "CheckRussia", "CheckSlovakia", "CheckSouthAfrica", "CheckSpain", "CheckSriLanka",
        "CheckSweden", "CheckUAE", "CheckUSA",
    }
)  # fmt: skip


def asmx_error(message: str, kind: str = "System.Exception", method: str = "Check") -> Reply:
    """An ASP.NET web service failure over HTTP GET: status 500 and the exception as plain text."""
    trace = f"   at CarRegistration.reg.{method}(String RegistrationNumber, String username)\r\n"
    return Reply.text(f"{kind}: {message}\r\n{trace}", 500)


def regcheck_xml(vehicle: Mapping[str, Any]) -> bytes:
    """The service's XML answer: the vehicle as JSON text in <vehicleJson>, and as elements in <vehicleData>."""

    def elements(value: Any) -> str:
        if isinstance(value, dict):
            return "".join(f"<{k}>{elements(v)}</{k}>" for k, v in value.items())
        return escape(str(value))

    return (
        '<?xml version="1.0" encoding="utf-8"?>\r\n'
        '<Vehicle xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://regcheck.org.uk">\r\n'
        f"  <vehicleJson>{escape(json.dumps(vehicle))}</vehicleJson>\r\n"
        f"  <vehicleData>{elements(vehicle)}</vehicleData>\r\n"
        "</Vehicle>"
    ).encode()


@dataclass
class RegcheckService:
    """CarRegistrationAPI: accounts with credit, per-endpoint vehicles, the XML and the JSON endpoints."""

    credits: dict[str, int] = field(default_factory=lambda: {"alice": 10, "broke": 0})
    passwords: dict[str, str] = field(default_factory=lambda: {"alice": "s3cret", "broke": "pw"})
    vehicles: dict[tuple[str, str], dict[str, Any]] = field(default_factory=lambda: dict(REGCHECK_VEHICLES))

    def __call__(self, request: Request) -> Reply:
        if request.path.startswith("/api/reg.asmx/"):
            return self._asmx(request)
        if request.path.startswith("/api/json.aspx/"):
            return self._json(request)
        return Reply.text("<html><body><h1>404 - File or directory not found.</h1></body></html>", 404, "text/html")

    def _asmx(self, request: Request) -> Reply:
        endpoint = request.path.removeprefix("/api/reg.asmx/")
        if endpoint not in REGCHECK_ENDPOINTS:
            return asmx_error(
                f"Request format is unrecognized for URL unexpectedly ending in '/{endpoint}'.",
                "System.InvalidOperationException",
            )
        params = request.query if request.method == "GET" else request.form()
        required = ["RegistrationNumber", "username"] + (
            ["State"] if endpoint in ("CheckUSA", "CheckAustralia") else []
        )
        for name in required:
            if name not in params:
                return asmx_error(f"Missing parameter: {name}.", "System.InvalidOperationException", endpoint)
        found = self._find(endpoint, params["RegistrationNumber"], params.get("State"), params["username"])
        if isinstance(found, Reply):
            return found
        return Reply(200, regcheck_xml(found), "text/xml; charset=utf-8")

    def _json(self, request: Request) -> Reply:
        parts = request.path.removeprefix("/api/json.aspx/").split("/")
        auth = request.headers.get("authorization", "")
        user, _, password = (base64.b64decode(auth[6:]).decode() if auth.startswith("Basic ") else "").partition(":")
        if not user or self.passwords.get(user) != password:
            return Reply.text("Unauthorized", 401, headers=(("WWW-Authenticate", 'Basic realm="regcheck"'),))
        endpoint, plate, state = parts[0], parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else None
        if endpoint not in REGCHECK_ENDPOINTS or not plate:
            return Reply.text("Unknown endpoint", 404)
        found = self._find(endpoint, plate, state, user)
        if isinstance(found, Reply):
            return found
        return Reply.json(found)

    def _find(self, endpoint: str, plate: str, state: str | None, user: str) -> dict[str, Any] | Reply:
        if user not in self.credits:
            return asmx_error("Invalid username", method=endpoint)
        if self.credits[user] <= 0:
            return asmx_error("Out of credit", method=endpoint)
        key = f"{endpoint}:{state}" if state else endpoint
        vehicle = self.vehicles.get((key, plate))
        if vehicle is None:
            return asmx_error("No vehicles found", method=endpoint)
        self.credits[user] -= 1
        return vehicle


# ---------------------------------------------------------------------------------------------------
# RDW open data (Socrata): GET /resource/m9d7-ebf2.json?kenteken=.. and /resource/8ys7-d773.json?kenteken=..
# ---------------------------------------------------------------------------------------------------

RDW_VEHICLES: list[dict[str, Any]] = [
    {
        "kenteken": "6TJR64",
        "voertuigsoort": "Personenauto",
        "merk": "NISSAN",
        "handelsbenaming": "NOTE",
        "vervaldatum_apk": "20260306",
        "datum_tenaamstelling": "20140306",
        "bruto_bpm": "2205",
        "inrichting": "MPV",
        "aantal_zitplaatsen": "5",
        "eerste_kleur": "GRIJS",
        "tweede_kleur": "Niet geregistreerd",
        "aantal_cilinders": "3",
        "cilinderinhoud": "1198",
        "massa_ledig_voertuig": "1054",
        "datum_eerste_toelating": "20140306",
        "datum_eerste_tenaamstelling_in_nederland": "20140306",
        "wacht_op_keuren": "Geen verstrekking in Open Data",
        "catalogusprijs": "17400",
        "wam_verzekerd": "Ja",
        "aantal_deuren": "4",
        "aantal_wielen": "4",
        "export_indicator": "Nee",
        "taxi_indicator": "Nee",
        "vervaldatum_apk_dt": "2026-03-06T00:00:00.000",
        "datum_eerste_toelating_dt": "2014-03-06T00:00:00.000",
        "api_gekentekende_voertuigen_brandstof": "https://opendata.rdw.nl/resource/8ys7-d773.json",
    },
    {
        "kenteken": "GX123B",
        "voertuigsoort": "Personenauto",
        "merk": "TOYOTA",
        "handelsbenaming": "TOYOTA C-HR",
        "vervaldatum_apk": "20270114",
        "inrichting": "hatchback",
        "eerste_kleur": "WIT",
        "cilinderinhoud": "1798",
        "datum_eerste_toelating": "20230114",
    },
    # A trailer: no engine, no colour registered, no APK.
    {
        "kenteken": "WV12AB",
        "voertuigsoort": "Aanhangwagen",
        "merk": "HUMBAUR",
        "handelsbenaming": "HA 132513",
        "eerste_kleur": "Niet geregistreerd",
        "datum_eerste_toelating": "20190401",
    },
]

RDW_FUEL: list[dict[str, Any]] = [
    {"kenteken": "6TJR64", "brandstof_volgnummer": "1", "brandstof_omschrijving": "Benzine",
     "co2_uitstoot_gecombineerd": "99", "emissiecode_omschrijving": "6"},
    {"kenteken": "GX123B", "brandstof_volgnummer": "2", "brandstof_omschrijving": "Elektriciteit"},
    {"kenteken": "GX123B", "brandstof_volgnummer": "1", "brandstof_omschrijving": "Benzine",
     "co2_uitstoot_gecombineerd": "110"},
]  # fmt: skip


def socrata_error(status: int, code: str, message: str) -> Reply:
    return Reply.json({"code": code, "error": True, "message": message}, status)


@dataclass
class RdwService:
    """The RDW Socrata portal: two datasets filtered by exact ``kenteken``, app tokens, SoQL column checks."""

    app_tokens: frozenset[str] = frozenset({"rdw-token"})
    vehicles: list[dict[str, Any]] = field(default_factory=lambda: list(RDW_VEHICLES))
    fuel: list[dict[str, Any]] = field(default_factory=lambda: list(RDW_FUEL))
    fuel_reply: Reply | None = None  # answer the fuel dataset with this instead (to break it)

    def __call__(self, request: Request) -> Reply:
        match = re.fullmatch(r"/resource/([a-z0-9]{4}-[a-z0-9]{4})\.json", request.path)
        if request.method != "GET" or not match:
            return socrata_error(404, "not_found", f"Cannot find the resource {request.path}")
        token = request.headers.get("x-app-token")
        if token is not None and token not in self.app_tokens:
            return socrata_error(403, "invalid_app_token", "Invalid app_token specified")
        dataset = match.group(1)
        rows = {"m9d7-ebf2": self.vehicles, "8ys7-d773": self.fuel}.get(dataset)
        if rows is None:
            return socrata_error(404, "dataset.missing", f"Dataset {dataset} not found")
        if dataset == "8ys7-d773" and self.fuel_reply is not None:
            return self.fuel_reply
        columns = set().union(*(row.keys() for row in rows)) | {"kenteken"}
        for name in request.query:
            if not name.startswith("$") and name not in columns:
                return socrata_error(400, "query.soql.no-such-column", f"No such column: {name}")
        wanted = [r for r in rows if all(r.get(k) == v for k, v in request.query.items() if not k.startswith("$"))]
        return Reply.json(wanted, content_type="application/json;charset=utf-8")


# ---------------------------------------------------------------------------------------------------
# Statens vegvesen: GET /enkeltoppslag/kjoretoydata?kjennemerke=.., SVV-Authorization: Apikey <key>
# ---------------------------------------------------------------------------------------------------


def _kode(navn: str, verdi: str, beskrivelse: str | None = None, type_id: str | None = None) -> dict[str, Any]:
    kode: dict[str, Any] = {"kodeNavn": navn, "kodeVerdi": verdi, "tidligereKodeVerdi": []}
    if beskrivelse:
        kode["kodeBeskrivelse"] = beskrivelse
    if type_id:
        kode["kodeTypeId"] = type_id
    return kode


VEGVESEN_VEHICLES: dict[str, dict[str, Any]] = {
    "EK39085": {
        "kjoretoyId": {"kjennemerke": "EK 39085", "understellsnummer": "WVWZZZAUZH8912345"},
        "forstegangsregistrering": {"registrertForstegangNorgeDato": "2017-06-06"},
        "kjennemerke": [
            {
                "fomTidspunkt": "2017-06-06T00:00:00+02:00",
                "kjennemerke": "EK 39085",
                "kjennemerkekategori": "KJORETOY",
                "kjennemerketype": _kode("Ordinære kjennemerker", "ORDINART", "Sorte tegn på hvit bunn"),
            }
        ],
        "registrering": {
            "fomTidspunkt": "2017-06-06T00:00:00+02:00",
            "registreringsstatus": _kode("Registrert", "REGISTRERT", "Registrert"),
        },
        "godkjenning": {
            "forstegangsGodkjenning": {"forstegangRegistrertDato": "2017-06-06", "godkjenningsId": "1000001125957"},
            "tekniskGodkjenning": {
                "godkjenningsId": "1000001125957",
                "kjoretoyklassifisering": {
                    "beskrivelse": "Personbil",
                    "tekniskKode": _kode("Personbil", "M1", "Bil for persontransport med høyst 8 sitteplasser"),
                },
                "tekniskeData": {
                    "generelt": {
                        "fabrikant": [{"fabrikantNavn": "VOLKSWAGEN AG"}],
                        "handelsbetegnelse": ["GOLF"],
                        "merke": [{"merke": "VOLKSWAGEN", "merkeKode": "5750"}],
                        "typebetegnelse": "AU",
                    },
                    "karosseriOgLasteplan": {
                        "antallDorer": [5],
                        "karosseritype": _kode(
                            "Stasjonsvogn (AC)",
                            "AC",
                            "Stasjonsvogn ISO-standard 3833:1977",
                            "TEKNISKEDATA.KAROSSERITYPE",
                        ),
                        "rFarge": [_kode("Grå", "05", type_id="TEKNISKEDATA.KAROSSERIFARGE")],
                    },
                    "motorOgDrivverk": {
                        "girkassetype": _kode("Automat", "A", "Automat"),
                        "motor": [
                            {
                                "arbeidsprinsipp": _kode("Elektrisk", "ELEKTRISK", "Elektrisk"),
                                "drivstoff": [
                                    {
                                        "drivstoffKode": _kode(
                                            "Elektrisk", "5", "Elektrisk", "TEKNISKEDATA.DRIVSTOFFTYPE"
                                        ),
                                        "maksEffektPrTime": 100.0,
                                    }
                                ],
                                "motorKode": "EAZ",
                            }
                        ],
                    },
                    "persontall": {"sitteplasserForan": 2, "sitteplasserTotalt": 5},
                    "vekter": {"egenvekt": 1540, "tillattTotalvekt": 2020},
                },
            },
        },
        "periodiskKjoretoyKontroll": {"kontrollfrist": "2025-05-31", "sistGodkjent": "2023-05-20"},
    },
    # A plug-in hybrid with two fuels and an engine volume, first registered abroad.
    "AB12345": {
        "kjoretoyId": {"kjennemerke": "AB 12345", "understellsnummer": "JTMW43FV10D012345"},
        "forstegangsregistrering": {"registrertForstegangNorgeDato": "2021-02-01"},
        "godkjenning": {
            "forstegangsGodkjenning": {"forstegangRegistrertDato": "2020-11-15"},
            "tekniskGodkjenning": {
                "kjoretoyklassifisering": {"beskrivelse": "Personbil"},
                "tekniskeData": {
                    "generelt": {"handelsbetegnelse": ["RAV4 PLUG-IN"], "merke": [{"merke": "TOYOTA"}]},
                    "karosseriOgLasteplan": {
                        "karosseritype": _kode("Kombinert bil (AF)", "AF"),
                        "rFarge": [_kode("Svart", "02")],
                    },
                    "motorOgDrivverk": {
                        "motor": [
                            {
                                "slagvolum": 2487,
                                "drivstoff": [
                                    {"drivstoffKode": _kode("Bensin", "1", "Bensin")},
                                    {"drivstoffKode": _kode("Elektrisk", "5", "Elektrisk")},
                                ],
                            }
                        ]
                    },
                },
            },
        },
    },
    # Only the identifiers: no technical approval, no inspection.
    "VH4242": {"kjoretoyId": {"kjennemerke": "VH 4242"}},
}


@dataclass
class VegvesenService:
    """Statens vegvesen's enkeltoppslag: checks the key header, answers kjoretoydataListe, counts a daily quota."""

    api_key: str = "svv-test-key"
    vehicles: dict[str, dict[str, Any]] = field(default_factory=lambda: dict(VEGVESEN_VEHICLES))
    not_found: Literal["empty", "204", "404"] = "empty"
    daily_quota: int | None = None
    used: int = 0

    def __call__(self, request: Request) -> Reply:
        if request.path != "/enkeltoppslag/kjoretoydata" or request.method != "GET":
            return Reply.json({"feilmelding": "Ukjent ressurs"}, 404)
        auth = request.headers.get("svv-authorization")
        if auth is None:
            return Reply.json({"feilmelding": "Mangler SVV-Authorization"}, 401)
        if auth != f"Apikey {self.api_key}":
            return Reply.json({"feilmelding": "Ugyldig API-nøkkel"}, 403)
        plate = request.query.get("kjennemerke")
        if not plate:
            return Reply.json({"feilmelding": "Kjennemerke eller understellsnummer må oppgis"}, 400)
        if not re.fullmatch(r"[A-ZÆØÅ0-9]{2,8}", plate):
            return Reply.json({"feilmelding": f"Ugyldig kjennemerke: {plate}"}, 400)
        if self.daily_quota is not None:
            if self.used >= self.daily_quota:
                return Reply.json(
                    {"feilmelding": "Daglig kvote er brukt opp"}, 429, headers=(("Retry-After", "43200"),)
                )
            self.used += 1
        vehicle = self.vehicles.get(plate)
        if vehicle is not None:
            return Reply.json({"kjoretoydataListe": [vehicle]})
        if self.not_found == "204":
            return Reply(204, b"", None)
        if self.not_found == "404":
            return Reply.json({"feilmelding": "Fant ikke kjøretøy"}, 404)
        return Reply.json({"feilmelding": "Fant ikke kjøretøy", "kjoretoydataListe": []})
