"""Runtime configuration: defaults < config file (TOML) < ``NUMBERPLATE_*`` environment < arguments."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, get_type_hints

from numberplate.errors import ConfigError

ENV_PREFIX = "NUMBERPLATE_"


@dataclass(frozen=True)
class Config:
    """Every runtime setting, with its default."""

    detector_model: str | None = None
    detector_side: int = 640
    detection_threshold: float = 0.3
    tile_large_images: bool = True
    ocr: str = "rapidocr"
    country: str | None = None
    lookup: str | None = None
    max_image_pixels: int = 50_000_000
    max_upload_mb: float = 16.0
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    threads: int = 4
    instance_path: str = "instance"
    database_url: str | None = None
    secret_key: str | None = None
    intra_op_threads: int = 0

    def replace(self, **changes: Any) -> Config:
        """A copy with some fields changed (validated)."""
        cfg = dataclasses.replace(self, **changes)
        _validate(cfg)
        return cfg


def _coerce(name: str, value: Any, hint: Any) -> Any:
    """Turn a string (from env or file) into the field's type; raise ConfigError naming the field."""
    text = str(hint)
    optional = "None" in text
    if value is None or (optional and isinstance(value, str) and value.strip().lower() in ("", "none", "null")):
        if optional:
            return None
        raise ConfigError(f"config {name!r} must not be empty")
    try:
        if text.startswith("bool") or hint is bool:
            if isinstance(value, bool):
                return value
            s = str(value).strip().lower()
            if s in ("1", "true", "yes", "on"):
                return True
            if s in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if text.startswith("int") or hint is int:
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if text.startswith("float") or hint is float:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        return str(value)
    except (TypeError, ValueError) as e:
        kind = text.split(" ")[0].split("|")[0]
        raise ConfigError(f"config {name!r}: {value!r} is not a valid {kind}") from e


def _validate(cfg: Config) -> None:
    if cfg.detector_side < 64 or cfg.detector_side % 32:
        raise ConfigError(f"config 'detector_side' must be a multiple of 32 and >= 64, got {cfg.detector_side}")
    if not 0.0 < cfg.detection_threshold < 1.0:
        raise ConfigError(f"config 'detection_threshold' must be between 0 and 1, got {cfg.detection_threshold}")
    if cfg.max_image_pixels <= 0 or cfg.max_upload_mb <= 0:
        raise ConfigError("config 'max_image_pixels' and 'max_upload_mb' must be positive")
    if not 0 < cfg.port < 65536:
        raise ConfigError(f"config 'port' must be 1-65535, got {cfg.port}")
    if cfg.workers < 1 or cfg.threads < 1:
        raise ConfigError("config 'workers' and 'threads' must be at least 1")


def load_config(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    base: Config | None = None,
    **overrides: Any,
) -> Config:
    """Build a Config from defaults, then a TOML file, then ``NUMBERPLATE_*`` env vars, then ``overrides``.

    ``overrides`` whose value is None are ignored, so unset CLI options pass straight through.

    ``path`` defaults to ``$NUMBERPLATE_CONFIG`` when set. Unknown keys and bad values raise ConfigError.
    """
    env = os.environ if env is None else env
    hints = get_type_hints(Config)
    names = {f.name for f in fields(Config)}
    values: dict[str, Any] = dataclasses.asdict(base) if base else {}

    path = path or env.get(ENV_PREFIX + "CONFIG")
    if path:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text())
        except FileNotFoundError as e:
            raise ConfigError(f"config file {p} does not exist") from e
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"config file {p} is not valid TOML: {e}") from e
        data = data.get("numberplate", data)
        for key, value in data.items():
            if key not in names:
                raise ConfigError(f"config file {p}: unknown setting {key!r}")
            values[key] = _coerce(key, value, hints[key])

    for name in names:
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None:
            values[name] = _coerce(ENV_PREFIX + name.upper(), raw, hints[name])

    for key, value in overrides.items():
        if key not in names:
            raise ConfigError(f"unknown setting {key!r}")
        if value is not None:  # None means "not given" (e.g. a CLI option left out)
            values[key] = _coerce(key, value, hints[key])
    cfg = Config(**values)
    _validate(cfg)
    return cfg
