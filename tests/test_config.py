"""load_config: defaults < TOML file < NUMBERPLATE_* environment < arguments, and every bad value is a ConfigError."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from numberplate.config import Config, load_config, parse_webhook_urls
from numberplate.detection.zones import MAX_ZONES, CameraZones, parse_zone
from numberplate.errors import ConfigError

# The error lists every setting, sorted; these are a few of them in that order.
SETTINGS = ", ".join(sorted(f.name for f in dataclasses.fields(Config)))
assert "detector_side, dvla_api_key" in SETTINGS
assert SETTINGS.endswith("vegvesen_url, verifier_model, verify_detections, webhook_events, webhook_max_attempts, "
                         "webhook_secret, webhook_timeout, webhook_urls, workers, zones")


def write(tmp_path: Path, text: str, name: str = "numberplate.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def raises(message: str) -> Any:
    """pytest.raises for a ConfigError whose whole message is ``message``."""
    return pytest.raises(ConfigError, match=f"^{re.escape(message)}$")


# --- sources and precedence ---------------------------------------------------------------------------------


def test_defaults() -> None:
    cfg = load_config(env={})
    assert cfg == Config()
    assert (cfg.detector_side, cfg.detection_threshold, cfg.port, cfg.host) == (640, None, 8000, "127.0.0.1")
    assert (cfg.tile_large_images, cfg.ocr, cfg.country) == (True, "plateocr+rapidocr", None)
    assert cfg.max_image_pixels == 50_000_000


def test_file_overrides_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, 'port = 9000\nhost = "0.0.0.0"\ndetection_threshold = 0.5\ntile_large_images = false\n')
    cfg = load_config(path, env={})
    assert (cfg.port, cfg.host, cfg.detection_threshold, cfg.tile_large_images) == (9000, "0.0.0.0", 0.5, False)
    assert cfg.workers == 2  # untouched settings keep their defaults


def test_file_with_numberplate_table(tmp_path: Path) -> None:
    # Other tables in a shared file (e.g. [tool.something]) are not ours and are left alone.
    path = write(tmp_path, '[tool.other]\nx = 1\n\n[numberplate]\nport = 9001\ncountry = "gb"\n')
    cfg = load_config(str(path), env={})
    assert (cfg.port, cfg.country) == (9001, "gb")


def test_file_found_through_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "port = 9002\n")
    assert load_config(env={"NUMBERPLATE_CONFIG": str(path)}).port == 9002
    # An explicit path wins over $NUMBERPLATE_CONFIG.
    other = write(tmp_path, "port = 9003\n", "other.toml")
    assert load_config(other, env={"NUMBERPLATE_CONFIG": str(path)}).port == 9003


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, "port = 9000\nworkers = 3\n")
    env = {"NUMBERPLATE_PORT": "9100", "NUMBERPLATE_TILE_LARGE_IMAGES": "off", "NUMBERPLATE_DETECTOR_MODEL": "m.onnx"}
    cfg = load_config(path, env=env)
    assert (cfg.port, cfg.workers, cfg.tile_large_images, cfg.detector_model) == (9100, 3, False, "m.onnx")


def test_environment_can_clear_an_optional_setting(tmp_path: Path) -> None:
    path = write(tmp_path, 'country = "gb"\n')
    assert load_config(path, env={"NUMBERPLATE_COUNTRY": ""}).country is None
    assert load_config(path, env={"NUMBERPLATE_COUNTRY": "none"}).country is None


def test_unrelated_environment_is_ignored() -> None:
    assert load_config(env={"NUMBERPLATE_DATA": "/data", "PORT": "1", "OTHER_PORT": "2"}) == Config()


def test_arguments_override_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "port = 9000\n")
    cfg = load_config(path, env={"NUMBERPLATE_PORT": "9100", "NUMBERPLATE_THREADS": "8"}, port=9200)
    assert (cfg.port, cfg.threads) == (9200, 8)


def test_none_arguments_are_ignored() -> None:
    cfg = load_config(env={"NUMBERPLATE_PORT": "9100", "NUMBERPLATE_COUNTRY": "us"}, port=None, country=None, ocr=None)
    assert (cfg.port, cfg.country, cfg.ocr) == (9100, "us", "plateocr+rapidocr")


def test_string_arguments_are_coerced() -> None:
    cfg = load_config(env={}, port="9300", detection_threshold="0.25", tile_large_images="no")
    assert (cfg.port, cfg.detection_threshold, cfg.tile_large_images) == (9300, 0.25, False)


def test_base_config_is_the_starting_point() -> None:
    base = Config(port=9400, workers=5)
    cfg = load_config(env={"NUMBERPLATE_WORKERS": "6"}, base=base)
    assert (cfg.port, cfg.workers) == (9400, 6)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("Yes", True),
        (" on ", True),
        ("0", False),
        ("FALSE", False),
        ("no", False),
        ("off", False),
    ],
)
def test_bool_parsing(raw: str, expected: bool) -> None:
    assert load_config(env={"NUMBERPLATE_TILE_LARGE_IMAGES": raw}).tile_large_images is expected


# --- bad values ---------------------------------------------------------------------------------------------


def test_bool_that_is_neither() -> None:
    with raises(
        "environment variable NUMBERPLATE_TILE_LARGE_IMAGES must be true or false (also 1/0, yes/no, on/off), "
        "got 'maybe'"
    ):
        load_config(env={"NUMBERPLATE_TILE_LARGE_IMAGES": "maybe"})


def test_non_integer_port_from_environment() -> None:
    with raises("environment variable NUMBERPLATE_PORT must be a whole number, got 'eighty'"):
        load_config(env={"NUMBERPLATE_PORT": "eighty"})


def test_non_integer_port_from_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'port = "http"\n')
    with raises(f"config file {path}: setting 'port' must be a whole number, got 'http'"):
        load_config(path, env={})


def test_fractional_int_is_not_truncated(tmp_path: Path) -> None:
    # int(8000.5) used to give 8000 silently.
    path = write(tmp_path, "port = 8000.5\n")
    with raises(f"config file {path}: setting 'port' must be a whole number, got 8000.5"):
        load_config(path, env={})
    with raises("setting 'workers' must be a whole number, got 2.7"):
        load_config(env={}, workers=2.7)


def test_bool_is_not_a_number() -> None:
    with raises("setting 'port' must be a whole number, got True"):
        load_config(env={}, port=True)
    with raises("setting 'detection_threshold' must be a finite number, got False"):
        load_config(env={}, detection_threshold=False)


def test_non_finite_float() -> None:
    with raises("environment variable NUMBERPLATE_MAX_UPLOAD_MB must be a finite number, got 'inf'"):
        load_config(env={"NUMBERPLATE_MAX_UPLOAD_MB": "inf"})
    with raises("environment variable NUMBERPLATE_DETECTION_THRESHOLD must be a finite number, got 'nan'"):
        load_config(env={"NUMBERPLATE_DETECTION_THRESHOLD": "nan"})


def test_string_setting_given_a_number_in_file(tmp_path: Path) -> None:
    path = write(tmp_path, "ocr = 5\n")
    with raises(f"config file {path}: setting 'ocr' must be a string, got 5"):
        load_config(path, env={})


def test_port_out_of_range() -> None:
    with raises("config 'port' must be 1-65535, got 70000"):
        load_config(env={"NUMBERPLATE_PORT": "70000"})
    with raises("config 'port' must be 1-65535, got 0"):
        load_config(env={}, port=0)


def test_detection_threshold_out_of_range() -> None:
    with raises("config 'detection_threshold' must be between 0 and 1 (exclusive), got 1.5"):
        load_config(env={}, detection_threshold=1.5)


def test_detector_side_not_a_multiple_of_32() -> None:
    with raises("config 'detector_side' must be a multiple of 32 from 64 to 4096, got 100"):
        load_config(env={}, detector_side=100)
    with raises("config 'detector_side' must be a multiple of 32 from 64 to 4096, got 32"):
        load_config(env={}, detector_side=32)
    with raises("config 'detector_side' must be a multiple of 32 from 64 to 4096, got 8192"):
        load_config(env={}, detector_side=8192)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_image_pixels": 0}, "config 'max_image_pixels' must be positive, got 0"),
        ({"max_image_pixels": 500_000_000}, "config 'max_image_pixels' must be at most 178,956,970 (the image "
         "decoder refuses larger images as decompression bombs), got 500,000,000"),
        ({"max_upload_mb": -1}, "config 'max_upload_mb' must be a positive number up to 1e+06, got -1.0"),
        # Values past these used to overflow later: serve failed to start, a lookup failed to be cached.
        ({"max_upload_mb": 1e308}, "config 'max_upload_mb' must be a positive number up to 1e+06, got 1e+308"),
        ({"max_video_seconds": 1e9},
         "config 'max_video_seconds' must be a positive number up to 86400, got 1000000000.0"),
        ({"lookup_cache_hours": 1e8}, "config 'lookup_cache_hours' must be at most 876000, got 1e+08"),
        ({"lookup_timeout": 1e300}, "config 'lookup_timeout' must be at most 3600, got 1e+300"),
        ({"workers": 100_000}, "config 'workers' must be 1 to 1024, got 100000"),
        ({"workers": 0}, "config 'workers' must be 1 to 1024, got 0"),
        ({"threads": 0}, "config 'threads' must be 1 to 1024, got 0"),
        ({"intra_op_threads": -1}, "config 'intra_op_threads' must be 0 (automatic) to 1024, got -1"),
        ({"intra_op_threads": 100_000}, "config 'intra_op_threads' must be 0 (automatic) to 1024, got 100000"),
        ({"host": " "}, "config 'host' must not be empty"),
        ({"ocr": ""}, "config 'ocr' must not be empty"),
        ({"min_read_confidence": 1}, "config 'min_read_confidence' must be in [0, 1), got 1.0"),
        ({"min_read_confidence": -0.1}, "config 'min_read_confidence' must be in [0, 1), got -0.1"),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else None,
)
def test_other_ranges(changes: dict[str, Any], message: str) -> None:
    with raises(message):
        load_config(env={}, **changes)


@pytest.mark.parametrize(("country", "known"),
                         [("zz", "ae, at, be, br, cn"), ("us-zz", "us-ak, us-al"), ("gb-1", "gb")])
def test_unknown_country_is_refused_up_front(country: str, known: str) -> None:
    # Checked when the config is loaded, not when the first plate is read (a 500 / per-image error before).
    with pytest.raises(ConfigError, match=f"^config 'country': unknown country code '{country}'; known codes: {known}"):
        load_config(env={}, country=country)


@pytest.mark.parametrize("country", ["gb", "uk", "us-ca", "auto", "BR"])
def test_known_countries_and_auto(country: str) -> None:
    assert load_config(env={}, country=country).country == country


def test_unknown_key_in_file(tmp_path: Path) -> None:
    path = write(tmp_path, "prot = 9000\n")
    with raises(f"config file {path}: unknown setting 'prot'; valid settings are {SETTINGS}"):
        load_config(path, env={})


def test_setting_outside_the_numberplate_table(tmp_path: Path) -> None:
    # Without this check the top-level port would be ignored without a word.
    path = write(tmp_path, "port = 9000\n\n[numberplate]\nhost = '0.0.0.0'\n")
    with raises(f"config file {path}: setting 'port' is outside the [numberplate] table; move it into the table"):
        load_config(path, env={})


def test_numberplate_key_that_is_not_a_table(tmp_path: Path) -> None:
    path = write(tmp_path, "numberplate = 5\n")
    with raises(f"config file {path}: 'numberplate' must be a table ([numberplate]), got 5"):
        load_config(path, env={})


def test_unknown_keyword() -> None:
    with raises(f"unknown setting 'colour'; valid settings are {SETTINGS}"):
        load_config(env={}, colour="red")


def test_invalid_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "port = \n")
    with pytest.raises(ConfigError, match=f"^config file {re.escape(str(path))} is not valid TOML: Invalid value"):
        load_config(path, env={})


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('host = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=f"^config file {re.escape(str(path))} is not valid TOML: "):
        load_config(path, env={})


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    with raises(f"config file {path} does not exist; check the path"):
        load_config(path, env={})
    with raises(f"config file {path} (from $NUMBERPLATE_CONFIG) does not exist; check the path"):
        load_config(env={"NUMBERPLATE_CONFIG": str(path)})


def test_directory_as_file(tmp_path: Path) -> None:
    with raises(f"config file {tmp_path} is a directory; pass a TOML file"):
        load_config(tmp_path, env={})


def test_config_errors_chain_their_cause(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "missing.toml", env={})
    assert isinstance(info.value.__cause__, FileNotFoundError)


# --- the Config object --------------------------------------------------------------------------------------


def test_config_is_frozen() -> None:
    cfg = load_config(env={})
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'port'"):
        cfg.port = 1  # type: ignore[misc]
    assert cfg.port == 8000


def test_replace_returns_a_validated_copy() -> None:
    cfg = Config()
    new = cfg.replace(port=9500, country="gb", detection_threshold="0.4")
    assert (new.port, new.country, new.detection_threshold) == (9500, "gb", 0.4)
    assert cfg.port == 8000  # the original is untouched
    assert new.replace(country=None).country is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"port": 70000}, "config 'port' must be 1-65535, got 70000"),
        ({"detector_side": 100}, "config 'detector_side' must be a multiple of 32 from 64 to 4096, got 100"),
        ({"port": "x"}, "setting 'port' must be a whole number, got 'x'"),
        ({"port": None}, "setting 'port' must be a whole number, got None"),
        ({"prot": 1}, f"unknown setting 'prot'; valid settings are {SETTINGS}"),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else None,
)
def test_replace_validates(changes: dict[str, Any], message: str) -> None:
    with raises(message):
        Config().replace(**changes)


def test_directly_built_config_is_validated_by_load_config() -> None:
    with raises("config 'port' must be of type int, got '80'"):
        load_config(env={}, base=Config(port="80"))  # type: ignore[arg-type]


# --- webhooks ------------------------------------------------------------------------------------------------


def test_webhook_defaults_are_off_alerts_10_s_and_10_attempts() -> None:
    cfg = load_config(env={})
    assert (cfg.webhook_urls, cfg.webhook_events, cfg.webhook_secret) == ("", "alerts", None)
    assert (cfg.webhook_timeout, cfg.webhook_max_attempts) == (10.0, 10)


def test_webhook_settings_from_the_environment() -> None:
    cfg = load_config(env={"NUMBERPLATE_WEBHOOK_URLS": "https://a.example/hook, http://10.0.0.5:1880/anpr",
                           "NUMBERPLATE_WEBHOOK_EVENTS": "reads", "NUMBERPLATE_WEBHOOK_SECRET": "k3y",
                           "NUMBERPLATE_WEBHOOK_TIMEOUT": "2.5", "NUMBERPLATE_WEBHOOK_MAX_ATTEMPTS": "3"})
    assert parse_webhook_urls(cfg.webhook_urls) == ("https://a.example/hook", "http://10.0.0.5:1880/anpr")
    assert (cfg.webhook_events, cfg.webhook_secret, cfg.webhook_timeout, cfg.webhook_max_attempts) == (
        "reads", "k3y", 2.5, 3)


def test_the_webhook_secret_is_not_in_the_configs_repr() -> None:
    assert "k3y-very-secret" not in repr(load_config(env={}, webhook_secret="k3y-very-secret"))


URL_FIX = "; give comma-separated http(s) URLs, or nothing for no webhooks"


@pytest.mark.parametrize(
    ("urls", "message"),
    [
        ("ftp://files.example/x", "config 'webhook_urls': 'ftp://files.example/x' is not an http:// or https:// URL "
         "with a host, e.g. https://hooks.example.org/numberplate" + URL_FIX),
        ("hooks.example.org/x", "config 'webhook_urls': 'hooks.example.org/x' is not an http:// or https:// URL "
         "with a host, e.g. https://hooks.example.org/numberplate" + URL_FIX),
        ("https://", "config 'webhook_urls': 'https://' is not an http:// or https:// URL with a host, e.g. "
         "https://hooks.example.org/numberplate" + URL_FIX),
        ("http://a.example:99999/x", "config 'webhook_urls': 'http://a.example:99999/x' is not a valid URL (Port "
         "out of range 0-65535)" + URL_FIX),
        ("http://a.example/x y", "config 'webhook_urls': 'http://a.example/x y' holds spaces, control or non-ASCII "
         "characters; percent-encode them" + URL_FIX),
        ("http://a.example/x#top", "config 'webhook_urls': 'http://a.example/x#top' has a #fragment, which is never "
         "sent; leave it out" + URL_FIX),
        ("http://a.example/x,http://a.example/x", "config 'webhook_urls': 'http://a.example/x' is listed twice"
         + URL_FIX),
        ("https://bob:hunter2@a.example/x, ftp://bob:hunter2@b.example/", "config 'webhook_urls': "
         "'ftp://bob:***@b.example/' is not an http:// or https:// URL with a host, e.g. "
         "https://hooks.example.org/numberplate" + URL_FIX),
    ],
)
def test_bad_webhook_urls_name_the_setting_and_the_url(urls: str, message: str) -> None:
    with raises(message):
        load_config(env={"NUMBERPLATE_WEBHOOK_URLS": urls})


def test_an_over_long_webhook_url_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^config 'webhook_urls': https://a\.example/xxx.* is longer than 2048 "):
        load_config(env={}, webhook_urls="https://a.example/" + "x" * 2100)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"webhook_events": "alert"}, "config 'webhook_events' must be 'alerts' (reads with a watchlist alert) or "
         "'reads' (every stored read), got 'alert'"),
        ({"webhook_timeout": 0}, "config 'webhook_timeout' must be a number of seconds above 0, up to 300, got 0"),
        ({"webhook_timeout": 301}, "config 'webhook_timeout' must be a number of seconds above 0, up to 300, "
         "got 301"),
        ({"webhook_timeout": "soon"}, "setting 'webhook_timeout' must be a finite number, got 'soon'"),
        ({"webhook_max_attempts": 0}, "config 'webhook_max_attempts' must be 1 to 100, got 0"),
        ({"webhook_max_attempts": "2.5"}, "setting 'webhook_max_attempts' must be a whole number, got '2.5'"),
    ],
)
def test_bad_webhook_settings(changes: dict[str, Any], message: str) -> None:
    with raises(message):
        load_config(env={}, **changes)


def test_a_bad_webhook_setting_in_the_environment_names_the_variable() -> None:
    with raises("environment variable NUMBERPLATE_WEBHOOK_MAX_ATTEMPTS must be a whole number, got 'ten'"):
        load_config(env={"NUMBERPLATE_WEBHOOK_MAX_ATTEMPTS": "ten"})


def test_a_blank_webhook_secret_is_unset_from_text_and_refused_in_a_built_config() -> None:
    assert load_config(env={"NUMBERPLATE_WEBHOOK_SECRET": "  "}).webhook_secret is None
    with raises("config 'webhook_secret' must not be blank; leave it unset for unsigned webhooks"):
        load_config(env={}, base=dataclasses.replace(Config(), webhook_secret="  "))


# --- detection zones per camera -----------------------------------------------------------------------------

GATE = "0.1,0.5 0.9,0.5 0.9,1 0.1,1"
LEFT = "0,0.6 0.5,0.6 0.5,1 0,1"
RIGHT = "0.6,0.6 1,0.6 1,1 0.6,1"
ZONES_FORMS = ('a table of camera ids, each with a list of zones ([zones] in a file, e.g. gate = ["0.1,0.5 0.9,0.5 '
               '0.9,1 0.1,1"]; NUMBERPLATE_ZONES as a JSON object, e.g. {"gate": ["0.1,0.5 0.9,0.5 0.9,1 0.1,1"]})')


def test_no_camera_has_zones_by_default() -> None:
    zones = load_config(env={}).zones
    assert zones == CameraZones() and len(zones) == 0 and zones.zones_for("gate") == ()


def test_zones_per_camera_from_a_file(tmp_path: Path) -> None:
    path = write(tmp_path, f'port = 9000\n\n[zones]\ngate = ["{GATE}"]\n"street 2" = ["{LEFT}", "{RIGHT}"]\n')
    cfg = load_config(path, env={})
    assert cfg.port == 9000 and list(cfg.zones) == ["gate", "street 2"]
    assert cfg.zones["gate"] == (parse_zone(GATE),)
    assert cfg.zones["street 2"] == (parse_zone(LEFT), parse_zone(RIGHT))
    # In a file with a [numberplate] table they are its sub-table; one beside the table is refused.
    nested = write(tmp_path, f'[numberplate]\nport = 9001\n\n[numberplate.zones]\ngate = ["{GATE}"]\n', "nested.toml")
    assert load_config(nested, env={}).zones == CameraZones({"gate": [parse_zone(GATE)]})
    beside = write(tmp_path, f'[numberplate]\nport = 9001\n\n[zones]\ngate = ["{GATE}"]\n', "beside.toml")
    with raises(f"config file {beside}: setting 'zones' is outside the [numberplate] table; move it into the table"):
        load_config(beside, env={})


def test_zones_from_the_environment_replace_the_files(tmp_path: Path) -> None:
    path = write(tmp_path, f'[zones]\ngate = ["{GATE}"]\n')
    cfg = load_config(path, env={"NUMBERPLATE_ZONES": f'{{"street": ["{LEFT}", "{RIGHT}"]}}'})
    assert list(cfg.zones) == ["street"] and len(cfg.zones["street"]) == 2
    assert load_config(path, env={"NUMBERPLATE_ZONES": "  "}).zones == CameraZones()  # blank: no camera has zones
    assert load_config(path, env={"NUMBERPLATE_ZONES": "{}"}).zones == CameraZones()


def test_zones_as_arguments_and_their_text_round_trip() -> None:
    cfg = Config().replace(zones={" gate ": [GATE]})  # a read's camera_id comes without surrounding spaces too
    assert list(cfg.zones) == ["gate"]
    # Their text (shown on the settings page) is the environment's form, and reads back as the same zones.
    assert str(cfg.zones) == f'{{"gate": ["{GATE}"]}}'
    assert load_config(env={"NUMBERPLATE_ZONES": str(cfg.zones)}) == cfg
    assert load_config(env={}, base=cfg) == cfg and hash(cfg) == hash(load_config(env={}, base=cfg))


def test_a_readings_zone_overrides_its_cameras() -> None:
    zones = Config().replace(zones={"gate": [GATE]}).zones
    own = (parse_zone(RIGHT),)
    assert zones.zones_for("gate") == (parse_zone(GATE),)
    assert zones.zones_for("gate", own) == own
    assert zones.zones_for("street") == () and zones.zones_for(None) == () and zones.zones_for("street", own) == own
    assert zones.zones_for("Gate") == ()  # camera ids are compared as the history compares them: exactly


@pytest.mark.parametrize(
    ("zones", "message"),
    [
        ({"gate": ["0,0 1,0"]}, "setting 'zones': camera 'gate', zone 1: zone '0,0 1,0' has 2 point(s); it needs "
         "points 'x,y x,y x,y ...' (3 to 64), each x and y a fraction (0 to 1) of the width and height of the image "
         "(of a video, its frames)"),
        ({"gate": [GATE, "0,0 1,1 1,0 0,1"]}, "setting 'zones': camera 'gate', zone 2: zone '0,0 1,1 1,0 0,1' "
         "crosses itself: list the corners in order around the area (clockwise or anticlockwise)"),
        ({"gate": [GATE, "0,0 1.5,0 1,1"]}, "setting 'zones': camera 'gate', zone 2: zone '0,0 1.5,0 1,1': '1.5' is "
         "not a number from 0 to 1; points 'x,y x,y x,y ...' (3 to 64), each x and y a fraction (0 to 1) of the "
         "width and height of the image (of a video, its frames)"),
        ({"gate": 5}, "setting 'zones': camera 'gate' must have a list of zones, each a string of points "
         "'x,y x,y x,y ...', e.g. gate = [\"0.1,0.5 0.9,0.5 0.9,1 0.1,1\"]; got 5"),
        ({"gate": GATE}, "setting 'zones': camera 'gate' must have a list of zones, each a string of points "
         f"'x,y x,y x,y ...', e.g. gate = [\"0.1,0.5 0.9,0.5 0.9,1 0.1,1\"]; got '{GATE}'"),
        ({"gate": [GATE, 5]}, "setting 'zones': camera 'gate' must have a list of zones, each a string of points "
         f"'x,y x,y x,y ...', e.g. gate = [\"0.1,0.5 0.9,0.5 0.9,1 0.1,1\"]; got ['{GATE}', 5]"),
        ({5: [GATE]}, "setting 'zones': camera id 5 must be a string"),
        ({"": [GATE]}, "setting 'zones': camera id '': must be 1-128 letters, digits, spaces or _ . : @ / -"),
        ({"gate<1>": [GATE]}, "setting 'zones': camera id 'gate<1>': must be 1-128 letters, digits, spaces or "
         "_ . : @ / -"),
        ({"c" * 129: [GATE]}, f"setting 'zones': camera id '{'c' * 40}': must be 1-128 letters, digits, spaces or "
         "_ . : @ / -"),
        ({"gate": [GATE], "gate ": [GATE]}, "setting 'zones': camera 'gate' is listed twice"),
        ({"gate": [GATE] * (MAX_ZONES + 1)}, f"setting 'zones': camera 'gate' has {MAX_ZONES + 1} zones; give 1 to "
         f"{MAX_ZONES} (a camera left out reads the whole frame)"),
        ({"gate": []}, f"setting 'zones': camera 'gate' has 0 zones; give 1 to {MAX_ZONES} (a camera left out reads "
         "the whole frame)"),
        ([GATE], f"setting 'zones' must be {ZONES_FORMS}; got ['{GATE}']"),
    ],
)
def test_bad_zones_name_the_camera_and_the_zone(zones: Any, message: str) -> None:
    with raises(message):
        load_config(env={}, zones=zones)


def test_bad_zones_in_a_file_name_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, f'[zones]\ngate = ["{GATE}"]\nstreet = ["{LEFT}", "0,0 1,0 nan,1"]\n')
    with pytest.raises(ConfigError, match=re.escape(f"config file {path}: setting 'zones': camera 'street', zone 2: "
                                                    "zone '0,0 1,0 nan,1': 'nan' is not a number from 0 to 1;")):
        load_config(path, env={})
    table = write(tmp_path, f'[zones.gate]\npoints = "{GATE}"\n', "table.toml")
    with raises(f"config file {table}: setting 'zones': camera 'gate' must have a list of zones, each a string of "
                f"points 'x,y x,y x,y ...', e.g. gate = [\"0.1,0.5 0.9,0.5 0.9,1 0.1,1\"]; got {{'points': '{GATE}'}}"):
        load_config(table, env={})
    flat = write(tmp_path, f'zones = "{GATE}"\n', "flat.toml")
    with pytest.raises(ConfigError, match=re.escape(f"config file {flat}: setting 'zones' is not valid JSON")):
        load_config(flat, env={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{gate: 1}", "environment variable NUMBERPLATE_ZONES is not valid JSON (Expecting property name enclosed "
         f"in double quotes: line 1 column 2 (char 1)); it must be {ZONES_FORMS}"),
        (f'["{GATE}"]', f"environment variable NUMBERPLATE_ZONES must be {ZONES_FORMS}; got ['{GATE}']"),
        ('{"gate": "0,0 1,0 1,1"}', "environment variable NUMBERPLATE_ZONES: camera 'gate' must have a list of zones, "
         "each a string of points 'x,y x,y x,y ...', e.g. gate = [\"0.1,0.5 0.9,0.5 0.9,1 0.1,1\"]; "
         "got '0,0 1,0 1,1'"),
        ('{"gate\\u0000": ["0,0 1,0 1,1"]}', "environment variable NUMBERPLATE_ZONES: camera id 'gate\\x00': must be "
         "1-128 letters, digits, spaces or _ . : @ / -"),
    ],
)
def test_bad_zones_in_the_environment_name_the_variable(text: str, message: str) -> None:
    with raises(message):
        load_config(env={"NUMBERPLATE_ZONES": text})


def test_zones_built_in_python_are_checked_too() -> None:
    zone = parse_zone(GATE)
    with raises("config 'zones': camera id ' gate' must be 1-128 letters, digits, spaces or _ . : @ / -, without "
                "surrounding spaces"):
        load_config(env={}, base=dataclasses.replace(Config(), zones=CameraZones({" gate": [zone]})))
    with raises("config 'zones': camera 'gate' must have 1 to 16 zones (parse_zone), got ()"):
        load_config(env={}, base=dataclasses.replace(Config(), zones=CameraZones({"gate": []})))
    with raises("config 'zones' must be of type CameraZones, got {'gate': ['0.1,0.5 0.9,0.5 0.9,1 0.1,1']}"):
        load_config(env={}, base=dataclasses.replace(Config(), zones={"gate": [GATE]}))  # type: ignore[arg-type]
