"""Runtime configuration: defaults < config file (TOML) < ``NUMBERPLATE_*`` environment < arguments."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import tomllib
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, get_args, get_type_hints
from urllib.parse import urlsplit

from numberplate.detection.zones import MAX_ZONES, CameraZones, Zone, ZoneError, parse_zone
from numberplate.errors import ConfigError

ENV_PREFIX = "NUMBERPLATE_"
FILE_TABLE = "numberplate"  # a file may keep its settings in a [numberplate] table

# Upper bounds of settings whose larger values only overflow somewhere later (a timedelta, a byte count).
MAX_UPLOAD_MB = 1_000_000.0  # a terabyte
MAX_VIDEO_SECONDS = 86_400.0  # a day of video in one upload
MAX_CACHE_HOURS = 24.0 * 365 * 100  # a century
MAX_LOOKUP_TIMEOUT = 3_600.0
MAX_THREADS = 1_024
MAX_DETECTOR_SIDE = 4_096  # as `eval detect --side`: larger sides ask for gigabytes of activations
MAX_WEBHOOK_TIMEOUT = 300.0  # a deliverer's lease on a delivery outlasts its request by far more than this
MAX_WEBHOOK_ATTEMPTS = 100
MAX_WEBHOOK_URL = 2_048  # the outbox's url column
WEBHOOK_EVENTS = ("alerts", "reads")
ZONES_EXAMPLE = 'gate = ["0.1,0.5 0.9,0.5 0.9,1 0.1,1"]'
ZONES_FORMS = ("a table of camera ids, each with a list of zones ([zones] in a file, e.g. " + ZONES_EXAMPLE
               + "; NUMBERPLATE_ZONES as a JSON object, e.g. {\"gate\": [\"0.1,0.5 0.9,0.5 0.9,1 0.1,1\"]})")

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_NONE = ("", "none", "null")


@dataclass(frozen=True)
class Config:
    """Every runtime setting, with its default."""

    detector_model: str | None = None
    detector_side: int = 640
    detection_threshold: float | None = None  # on the reported (calibrated) confidence; None: the model's own
    tile_large_images: bool = True
    detector_flip: bool = False  # also detect on the mirrored image and average (about 2x the detector's time)
    verify_detections: bool = True  # a second look at each detection with its surroundings (detection/verify.py)
    verifier_model: str | None = None  # the verifier (.onnx with its .json); default: the shipped one
    ocr: str = "plateocr+rapidocr"  # a backend, or primary+fallback: the fallback reads the unsure plates
    ocr_fallback_below: float = 0.5  # primary's own (uncalibrated) score under which the fallback reads (cascade.py)
    ocr_model: str | None = None  # our plate OCR model (.onnx with its .json); default: the shipped one
    min_read_confidence: float = 0.08  # a reading less sure than this (calibrated) is noise: returned without text
    rectify: bool = False  # deskew plate crops from their own edges before reading (when no corners)
    country: str | None = None
    lookup: str = "local"  # vehicle-lookup providers: "local", or per country e.g. "gb=dvla,nl=rdw,*=local"
    lookup_on_read: bool = False  # look up every read's vehicle unless a request says otherwise
    lookup_cache_hours: float = 24.0
    lookup_timeout: float = 5.0
    lookup_rate_per_second: float = 5.0  # per HTTP provider and process; 0: no limit
    dvla_api_key: str | None = None
    dvla_url: str | None = None
    regcheck_username: str | None = None
    regcheck_password: str | None = None
    regcheck_url: str | None = None
    rdw_app_token: str | None = None
    rdw_url: str | None = None
    vegvesen_api_key: str | None = None
    vegvesen_url: str | None = None
    max_image_pixels: int = 50_000_000
    max_upload_mb: float = 16.0
    max_video_mb: float = 200.0  # POST /api/v1/read-video upload limit
    max_video_seconds: float = 120.0  # longest uploaded video read (the answer comes when it is done)
    host: str = "127.0.0.1"
    # Host names (comma-separated; ".example.com" takes its subdomains) the web app answers to. None: when bound
    # to a loopback address, only localhost / 127.0.0.1 / ::1 (a page on another site cannot reach it through
    # DNS rebinding); otherwise any.
    trusted_hosts: str | None = None
    port: int = 8000
    workers: int = 2
    threads: int = 4
    instance_path: str = "instance"
    database_url: str | None = None  # default: SQLite in the instance folder; or postgresql+psycopg://...
    store_reads: bool = True  # keep reads (with their images and crops) in the history
    retention_days: int = 0  # delete reads older than this many days; 0 keeps them
    api_auth: bool = True  # the REST API wants `Authorization: Token <key>`
    rate_limit_per_minute: int = 120  # API calls per token per minute; 0: no limit
    admin_password: str | None = None  # when set, the pages ask for it (the API always uses tokens)
    secret_key: str | None = None
    intra_op_threads: int = 0
    webhook_urls: str = ""  # comma-separated http(s) URLs that get a POST per stored read or alert; "": off
    webhook_events: str = "alerts"  # "alerts": reads with a watchlist alert; "reads": every stored read
    webhook_secret: str | None = field(default=None, repr=False)  # signs every POST (HMAC-SHA256) when set
    webhook_timeout: float = 10.0  # seconds for one POST, from connecting to the answer's headers
    webhook_max_attempts: int = 10  # tries of a delivery before it is marked failed
    # Detection zones of fixed cameras by camera id ([zones] table: gate = ["x,y x,y x,y ..."]): a read or video with
    # that camera_id and no zone of its own counts only the plates whose box centre lies in one of them.
    zones: CameraZones = field(default_factory=CameraZones)

    def replace(self, **changes: Any) -> Config:
        """A copy with some fields changed; values are coerced and validated like keyword arguments.

        Raises:
            ConfigError: an unknown setting or an invalid value.
        """
        kinds = _field_kinds()
        coerced = {}
        for key, value in changes.items():
            if key not in kinds:
                raise ConfigError(_unknown(f"unknown setting {key!r}"))
            coerced[key] = _coerce(f"setting {key!r}", value, *kinds[key])
        cfg = dataclasses.replace(self, **coerced)
        _validate(cfg)
        return cfg


@cache
def _field_kinds() -> dict[str, tuple[type, bool]]:
    """Each field's base type (bool, int, float or str) and whether it may be None."""
    kinds = {}
    for name, hint in get_type_hints(Config).items():
        optional = isinstance(hint, types.UnionType) and type(None) in get_args(hint)
        base = next(a for a in get_args(hint) if a is not type(None)) if optional else hint
        kinds[name] = (base, optional)
    return kinds


def _unknown(message: str) -> str:
    return f"{message}; valid settings are {', '.join(sorted(_field_kinds()))}"


def _coerce(label: str, value: Any, kind: type, optional: bool) -> Any:
    """Turn a value (a string from the environment, a TOML value, an argument) into the field's type.

    ``label`` names where the value came from, e.g. "environment variable NUMBERPLATE_PORT".
    """
    if kind is CameraZones:
        return _camera_zones(label, value)
    if optional and (value is None or (isinstance(value, str) and value.strip().lower() in _NONE)):
        return None
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        raise ConfigError(f"{label} must be true or false (also 1/0, yes/no, on/off), got {value!r}")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return int(value.strip())
        raise ConfigError(f"{label} must be a whole number, got {value!r}")
    if kind is float:
        number: float | None = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            with contextlib.suppress(ValueError):
                number = float(value.strip())
        if number is None or not math.isfinite(number):
            raise ConfigError(f"{label} must be a finite number, got {value!r}")
        return number
    if isinstance(value, str):
        return value
    raise ConfigError(f"{label} must be a string, got {value!r}")


def _validate(cfg: Config) -> None:
    """Check types (a Config can be built directly) and ranges; raise ConfigError naming the setting."""
    for name, (kind, optional) in _field_kinds().items():
        value = getattr(cfg, name)
        if value is None and optional:
            continue
        ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True  # an int is a fine float
        if not ok:
            raise ConfigError(f"config {name!r} must be of type {kind.__name__}, got {value!r}")
    if not 64 <= cfg.detector_side <= MAX_DETECTOR_SIDE or cfg.detector_side % 32:
        raise ConfigError(f"config 'detector_side' must be a multiple of 32 from 64 to {MAX_DETECTOR_SIDE}, "
                          f"got {cfg.detector_side}")
    if cfg.detection_threshold is not None and not 0.0 < cfg.detection_threshold < 1.0:
        raise ConfigError(
            f"config 'detection_threshold' must be between 0 and 1 (exclusive), got {cfg.detection_threshold}"
        )
    if cfg.max_image_pixels <= 0:
        raise ConfigError(f"config 'max_image_pixels' must be positive, got {cfg.max_image_pixels}")
    decoder_limit = _decoder_pixel_limit()
    if decoder_limit and cfg.max_image_pixels > decoder_limit:
        raise ConfigError(f"config 'max_image_pixels' must be at most {decoder_limit:,} (the image decoder refuses "
                          f"larger images as decompression bombs), got {cfg.max_image_pixels:,}")
    for name, most in (("max_upload_mb", MAX_UPLOAD_MB), ("max_video_mb", MAX_UPLOAD_MB),
                       ("max_video_seconds", MAX_VIDEO_SECONDS)):
        if not 0.0 < getattr(cfg, name) <= most:
            raise ConfigError(f"config {name!r} must be a positive number up to {most:g}, got {getattr(cfg, name)}")
    if not 0 < cfg.port < 65536:
        raise ConfigError(f"config 'port' must be 1-65535, got {cfg.port}")
    if cfg.retention_days < 0 or cfg.rate_limit_per_minute < 0:
        raise ConfigError("config 'retention_days' and 'rate_limit_per_minute' must be 0 (off) or more")
    if cfg.lookup_cache_hours < 0 or cfg.lookup_timeout <= 0 or cfg.lookup_rate_per_second < 0:
        raise ConfigError(
            "config 'lookup_cache_hours' and 'lookup_rate_per_second' must be 0 or more, 'lookup_timeout' positive"
        )
    # Past these the dates and timers computed from them overflow (a cache entry's expiry, a socket deadline).
    for name, most in (("lookup_cache_hours", MAX_CACHE_HOURS), ("lookup_timeout", MAX_LOOKUP_TIMEOUT)):
        if getattr(cfg, name) > most:
            raise ConfigError(f"config {name!r} must be at most {most:g}, got {getattr(cfg, name):g}")
    for name in ("workers", "threads"):
        if not 1 <= getattr(cfg, name) <= MAX_THREADS:
            raise ConfigError(f"config {name!r} must be 1 to {MAX_THREADS}, got {getattr(cfg, name)}")
    if not 0 <= cfg.intra_op_threads <= MAX_THREADS:
        raise ConfigError(
            f"config 'intra_op_threads' must be 0 (automatic) to {MAX_THREADS}, got {cfg.intra_op_threads}"
        )
    if not 0.0 <= cfg.min_read_confidence < 1.0:
        raise ConfigError(f"config 'min_read_confidence' must be in [0, 1), got {cfg.min_read_confidence}")
    if not 0.0 < cfg.ocr_fallback_below <= 1.0:
        raise ConfigError(f"config 'ocr_fallback_below' must be in (0, 1], got {cfg.ocr_fallback_below}")
    for name in ("ocr", "host", "instance_path", "lookup"):
        if not getattr(cfg, name).strip():
            raise ConfigError(f"config {name!r} must not be empty")
    if cfg.country is not None:
        from numberplate.formats import UnknownCountryError, patterns_for

        try:
            patterns_for(cfg.country)  # "auto", a country or a region code the plate formats know
        except UnknownCountryError as e:
            raise ConfigError(f"config 'country': {e}") from e
    _validate_webhooks(cfg)
    _validate_zones(cfg.zones)


def _camera_zones(label: str, value: Any) -> CameraZones:
    """The ``zones`` setting from a TOML table, a JSON object (the environment's text) or a mapping: camera id ->
    list of zone texts; each camera id and zone checked, the messages naming them."""
    if isinstance(value, CameraZones):
        return value
    if isinstance(value, str):
        if not value.strip():
            return CameraZones()
        try:
            value = json.loads(value)
        except (json.JSONDecodeError, RecursionError) as e:
            raise ConfigError(f"{label} is not valid JSON ({e}); it must be {ZONES_FORMS}") from e
    if not isinstance(value, Mapping):
        raise ConfigError(f"{label} must be {ZONES_FORMS}; got {_short(value)}")
    from numberplate.store.reads import check_camera_id  # imported when used: the store is not light

    cameras: dict[str, tuple[Zone, ...]] = {}
    for key, texts in value.items():
        if not isinstance(key, str):
            raise ConfigError(f"{label}: camera id {_short(key)} must be a string")
        try:
            camera = check_camera_id(key)  # as a read's camera_id comes: surrounding spaces removed
        except ValueError as e:
            raise ConfigError(f"{label}: {e}") from e
        if camera in cameras:
            raise ConfigError(f"{label}: camera {camera!r} is listed twice")
        if not isinstance(texts, (list, tuple)) or not all(isinstance(t, str) for t in texts):
            raise ConfigError(f"{label}: camera {camera!r} must have a list of zones, each a string of points "
                              f"'x,y x,y x,y ...', e.g. {ZONES_EXAMPLE}; got {_short(texts)}")
        if not 1 <= len(texts) <= MAX_ZONES:
            raise ConfigError(f"{label}: camera {camera!r} has {len(texts)} zones; give 1 to {MAX_ZONES} (a camera "
                              "left out reads the whole frame)")
        zones = []
        for i, text in enumerate(texts, 1):
            try:
                zones.append(parse_zone(text))
            except ZoneError as e:
                raise ConfigError(f"{label}: camera {camera!r}, zone {i}: {e}") from e
        cameras[camera] = tuple(zones)
    return CameraZones(cameras)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _validate_zones(zones: CameraZones) -> None:
    """Each camera id follows the camera_id rule, as a read gives it (no surrounding spaces), with 1 to
    :data:`MAX_ZONES` zones (a CameraZones may be built without :func:`_camera_zones`)."""
    if not zones:
        return
    from numberplate.store.reads import CAMERA_RULE, check_camera_id

    for camera, camera_zones in zones.items():
        try:
            ok = isinstance(camera, str) and check_camera_id(camera) == camera
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(f"config 'zones': camera id {_short(camera)} {CAMERA_RULE}, without surrounding "
                              "spaces")
        if not 1 <= len(camera_zones) <= MAX_ZONES or not all(isinstance(z, Zone) for z in camera_zones):
            raise ConfigError(f"config 'zones': camera {camera!r} must have 1 to {MAX_ZONES} zones (parse_zone), "
                              f"got {_short(camera_zones)}")


def parse_webhook_urls(text: str) -> tuple[str, ...]:
    """The URLs of a ``webhook_urls`` setting: comma-separated absolute http(s) URLs, spaces around them removed.

    Raises:
        ValueError: one is not such a URL, or is listed twice; the message names it (less any password).
    """
    urls: list[str] = []
    for part in text.split(","):
        url = part.strip()
        if not url:
            continue
        shown = _url_for_message(url)
        if len(url) > MAX_WEBHOOK_URL:
            raise ValueError(f"{shown[:60]}... is longer than {MAX_WEBHOOK_URL} characters")
        if not (url.isascii() and url.isprintable()) or " " in url:
            raise ValueError(f"{shown!r} holds spaces, control or non-ASCII characters; percent-encode them")
        try:
            parts = urlsplit(url)
            port = parts.port  # raises on a port that is not a number from 0 to 65535
        except ValueError as e:
            raise ValueError(f"{shown!r} is not a valid URL ({e})") from e
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{shown!r} is not an http:// or https:// URL with a host, e.g. "
                             "https://hooks.example.org/numberplate")
        if port == 0:
            raise ValueError(f"{shown!r} names port 0")
        if parts.fragment:
            raise ValueError(f"{shown!r} has a #fragment, which is never sent; leave it out")
        if url in urls:
            raise ValueError(f"{shown!r} is listed twice")
        urls.append(url)
    return tuple(urls)


def _url_for_message(url: str) -> str:
    """``url`` without the password it may carry (``https://user:secret@host/`` -> ``https://user:***@host/``)."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.partition("@")
    if not (sep and at) or ":" not in userinfo or "/" in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"


def _validate_webhooks(cfg: Config) -> None:
    try:
        parse_webhook_urls(cfg.webhook_urls)
    except ValueError as e:
        raise ConfigError(f"config 'webhook_urls': {e}; give comma-separated http(s) URLs, or nothing for no "
                          "webhooks") from e
    if cfg.webhook_events not in WEBHOOK_EVENTS:
        raise ConfigError(f"config 'webhook_events' must be 'alerts' (reads with a watchlist alert) or 'reads' "
                          f"(every stored read), got {cfg.webhook_events!r}")
    if cfg.webhook_secret is not None and not cfg.webhook_secret.strip():
        raise ConfigError("config 'webhook_secret' must not be blank; leave it unset for unsigned webhooks")
    if not 0.0 < cfg.webhook_timeout <= MAX_WEBHOOK_TIMEOUT:
        raise ConfigError(f"config 'webhook_timeout' must be a number of seconds above 0, up to "
                          f"{MAX_WEBHOOK_TIMEOUT:g}, got {cfg.webhook_timeout:g}")
    if not 1 <= cfg.webhook_max_attempts <= MAX_WEBHOOK_ATTEMPTS:
        raise ConfigError(f"config 'webhook_max_attempts' must be 1 to {MAX_WEBHOOK_ATTEMPTS}, "
                          f"got {cfg.webhook_max_attempts}")


def _decoder_pixel_limit() -> int | None:
    """The most pixels Pillow opens at all (it raises above twice its ``MAX_IMAGE_PIXELS``); None: no limit."""
    from PIL import Image

    return 2 * Image.MAX_IMAGE_PIXELS if Image.MAX_IMAGE_PIXELS else None


def _read_file(p: Path, origin: str) -> dict[str, Any]:
    """The settings table of a TOML config file: the [numberplate] table if there is one, else the top level."""
    try:
        with p.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as e:
        raise ConfigError(f"config file {p}{origin} does not exist; check the path") from e
    except IsADirectoryError as e:
        raise ConfigError(f"config file {p}{origin} is a directory; pass a TOML file") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {p} is not valid TOML: {e}") from e
    except OSError as e:
        raise ConfigError(f"config file {p}{origin} cannot be read: {e.strerror or e}") from e
    if FILE_TABLE not in data:
        return data
    table = data[FILE_TABLE]
    if not isinstance(table, dict):
        raise ConfigError(f"config file {p}: {FILE_TABLE!r} must be a table ([{FILE_TABLE}]), got {table!r}")
    stray = sorted(set(data) & set(_field_kinds()))
    if stray:
        raise ConfigError(
            f"config file {p}: setting {stray[0]!r} is outside the [{FILE_TABLE}] table; move it into the table"
        )
    return table


def load_config(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    base: Config | None = None,
    **overrides: Any,
) -> Config:
    """Build a Config from defaults, then a TOML file, then ``NUMBERPLATE_*`` env vars, then ``overrides``.

    ``overrides`` whose value is None are ignored, so unset CLI options pass straight through.

    Args:
        path: a TOML file; default ``$NUMBERPLATE_CONFIG`` when set. Its settings may sit at the top
            level or in a ``[numberplate]`` table.
        env: the environment to read (default ``os.environ``); pass ``{}`` to ignore it.
        base: start from this Config instead of the defaults.
        **overrides: settings given explicitly (strings are coerced like environment values).

    Raises:
        ConfigError: a missing or invalid file, an unknown setting, or an invalid value.
    """
    env = os.environ if env is None else env
    kinds = _field_kinds()
    values: dict[str, Any] = dataclasses.asdict(base) if base else {}

    origin = ""
    if not path and env.get(ENV_PREFIX + "CONFIG"):
        path, origin = env[ENV_PREFIX + "CONFIG"], f" (from ${ENV_PREFIX}CONFIG)"
    if path:
        p = Path(path)
        for key, value in _read_file(p, origin).items():
            if key not in kinds:
                raise ConfigError(_unknown(f"config file {p}: unknown setting {key!r}"))
            values[key] = _coerce(f"config file {p}: setting {key!r}", value, *kinds[key])

    for name, kind in kinds.items():
        var = ENV_PREFIX + name.upper()
        raw = env.get(var)
        if raw is not None:
            values[name] = _coerce(f"environment variable {var}", raw, *kind)

    for key, value in overrides.items():
        if key not in kinds:
            raise ConfigError(_unknown(f"unknown setting {key!r}"))
        if value is not None:  # None means "not given" (e.g. a CLI option left out)
            values[key] = _coerce(f"setting {key!r}", value, *kinds[key])
    cfg = Config(**values)
    _validate(cfg)
    return cfg
