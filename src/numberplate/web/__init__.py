"""The numberplate web app: ``create_app()`` builds a Flask app with its blueprints, templates and static files."""

from __future__ import annotations

import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask

from numberplate.config import Config, load_config
from numberplate.web import errors, metrics, security
from numberplate.web.params import IdConverter
from numberplate.web.state import EXTENSION_KEY, NumberplateState, get_reader, get_state

if TYPE_CHECKING:
    from numberplate.lookup.base import VehicleLookup
    from numberplate.pipeline import Reader

log = logging.getLogger(__name__)

SECRET_KEY_FILE = "secret_key"


def create_app(
    config: Config | None = None, reader: Reader | None = None, lookup: VehicleLookup | None = None
) -> Flask:
    """Build the web app. Fast: the Reader's models load on first use (or when ``numberplate serve`` starts).

    Args:
        config: runtime settings; default ``load_config()`` (file, then ``NUMBERPLATE_*`` environment).
        reader: a ready Reader to use instead of building one from ``config`` (tests pass fakes).
        lookup: a ready vehicle lookup instead of the one ``config.lookup`` names.

    Raises:
        StoreError: the database cannot be opened or migrated.
    """
    config = config or load_config()
    instance = Path(config.instance_path).resolve()
    app = Flask(__name__, instance_path=str(instance))
    app.config.update(
        MAX_CONTENT_LENGTH=int(config.max_upload_mb * 1024 * 1024),
        SECRET_KEY=config.secret_key or instance_secret_key(instance),
        SESSION_COOKIE_NAME="numberplate_session",
        # A login lasts this long at most (the cookie's signature is checked against it), and ends at once when
        # the admin password changes (views.logged_in).
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        NUMBERPLATE_TRUSTED_HOSTS=security.trusted_hosts(config.host, config.trusted_hosts),
    )
    state = NumberplateState(config, reader, lookup)
    state.db.migrate()
    app.extensions[EXTENSION_KEY] = state

    errors.init_app(app)
    app.before_request(security.check_host)  # first: a request for another host name gets no further
    app.url_map.converters["id"] = IdConverter  # before any route uses <id:...>
    app.before_request(errors.apply_body_limit)  # before the CSRF check reads the form
    metrics.init_app(app, state.metrics)

    from numberplate.web import (
        api,
        health,
        history,
        login,
        openapi,
        pages,
        platerecognizer,
        settings_pages,
        vehicles_pages,
        watchlist_pages,
    )

    app.register_blueprint(health.bp)
    # The login check runs before the CSRF check, which reads the body: a visitor who has not logged in is
    # sent to the login page without the server reading (or refusing as too large) what they uploaded.
    app.register_blueprint(login.bp)
    security.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(history.bp)
    app.register_blueprint(watchlist_pages.bp)
    app.register_blueprint(vehicles_pages.bp)
    app.register_blueprint(settings_pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(platerecognizer.bp)
    state.csrf_exempt |= {api.bp.name, platerecognizer.bp.name}

    @app.context_processor
    def _limits() -> dict[str, Any]:
        return {"max_upload_mb": config.max_upload_mb, "max_video_mb": config.max_video_mb}

    return app


def instance_secret_key(instance: Path) -> str:
    """The secret key kept in ``instance/secret_key``, created (mode 0600) on first start.

    Persisting it means restarts, and several processes sharing the folder, keep the same sessions.
    When the folder is not writable the app still runs, with a key that lasts only this process.
    """
    path = instance / SECRET_KEY_FILE
    try:
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    except OSError as e:
        log.warning("cannot read %s (%s); sessions will not survive a restart", path, e)
        return secrets.token_hex(32)
    key = secrets.token_hex(32)
    tmp = instance / f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key + "\n")
        try:
            os.link(tmp, path)  # atomic: fails when another process created the key first
        except FileExistsError:
            return path.read_text(encoding="ascii").strip() or key
    except OSError as e:
        log.warning("cannot write %s (%s); sessions will not survive a restart", path, e)
        return key
    finally:
        tmp.unlink(missing_ok=True)
    log.info("created a new secret key in %s", path)
    return key


__all__ = ["create_app", "get_reader", "get_state", "instance_secret_key"]
