"""Helpers shared by the HTML pages: template filters, navigation, pagination and page responses."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, session, url_for

from numberplate.detection.zones import MAX_ZONES
from numberplate.web.state import get_state

LOGGED_IN_KEY = "admin"  # session flag set by the login page

# Vehicle details in the order people expect them, with their labels (the fields of VehicleInfo).
VEHICLE_LABELS: tuple[tuple[str, str], ...] = (
    ("make", "Make"),
    ("model", "Model"),
    ("colour", "Colour"),
    ("fuel", "Fuel"),
    ("year", "Year"),
    ("engine_size", "Engine size"),
    ("body", "Body"),
    ("registration_date", "Registration date"),
    ("tax_status", "Tax status"),
    ("inspection_status", "Inspection (MOT) status"),
    ("vin", "VIN"),
    ("description", "Description"),
)


@dataclass(frozen=True)
class NavItem:
    """One link of the main navigation."""

    endpoint: str
    label: str
    current: bool


# (endpoint, label, endpoints that count as "this section")
_NAV: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("pages.index", "Read", ("pages.index", "pages.read", "pages.read_page", "pages.batch")),
    ("history.index", "History", ("history.",)),
    ("watchlist.index", "Watchlist", ("watchlist.",)),
    ("vehicles.index", "Vehicles", ("vehicles.",)),
    ("settings.index", "Settings", ("settings.index", "settings.create_token", "settings.revoke_token")),
    ("settings.api_docs", "API", ("settings.api_docs",)),
)


def percent(value: float | None) -> str:
    """``0.934`` -> ``93.4%``."""
    return f"{(value or 0.0):.1%}"


def when(value: datetime | None) -> str:
    """A stored UTC time for people: ``2026-11-24 10:00:05 UTC``."""
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def iso(value: datetime | None) -> str:
    """A time for ``<time datetime>``."""
    return value.isoformat().replace("+00:00", "Z") if value else ""


def login_enabled() -> bool:
    """Whether the pages ask for the admin password."""
    return bool(get_state().config.admin_password)


def password_mark() -> str:
    """What a logged-in session keeps of the admin password: a keyed hash, so that changing the password ends every
    login made with the old one (the session cookie is signed, not stored: nothing else could revoke it)."""
    password = get_state().config.admin_password or ""
    key = str(current_app.secret_key).encode("utf-8")
    return hmac.new(key, b"admin password:" + password.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def logged_in() -> bool:
    """Whether this session has given the current admin password (always true when there is none)."""
    if not login_enabled():
        return True
    mark = session.get(LOGGED_IN_KEY)
    return isinstance(mark, str) and hmac.compare_digest(mark, password_mark())


def navigation() -> list[NavItem]:
    """The main navigation with the current section marked."""
    endpoint = request.endpoint or ""
    return [
        NavItem(target, label, any(endpoint == e or (e.endswith(".") and endpoint.startswith(e)) for e in section))
        for target, label, section in _NAV
    ]


def page_numbers(page: int, pages: int, around: int = 2) -> list[int | None]:
    """Page numbers to link: the first, the last and ``around`` either side of ``page``; None marks a gap."""
    shown = sorted({1, pages, *range(max(1, page - around), min(pages, page + around) + 1)})
    out: list[int | None] = []
    for n in shown:
        if out and n - (out[-1] or 0) > 1:
            out.append(None)
        out.append(n)
    return out


def page_url(endpoint: str, page: int, args: dict[str, Any]) -> str:
    """The URL of another page of a list, keeping its search parameters."""
    return url_for(endpoint, **{**{k: v for k, v in args.items() if v not in ("", None)}, "page": page})


def private_page(template: str, status: int = 200, **context: Any) -> Response:
    """A rendered page that shows stored data: kept out of shared and browser caches."""
    return Response(render_template(template, **context), status=status, headers={"Cache-Control": "no-store"})


def _template_context() -> dict[str, Any]:
    config = get_state().config
    return {
        "nav": navigation() if logged_in() else [],
        "login_enabled": login_enabled(),
        "logged_in": logged_in(),
        "store_reads": config.store_reads,
        "retention_days": config.retention_days,
        "lookup_default": config.lookup_on_read,
        "vehicle_labels": VEHICLE_LABELS,
        "max_zones": MAX_ZONES,  # of the upload form's zone field
    }


def init_pages(bp: Blueprint) -> None:
    """Offer the filters and the navigation context to every template of the app (registered with ``bp``)."""
    bp.add_app_template_filter(percent, "percent")
    bp.add_app_template_filter(when, "when")
    bp.add_app_template_filter(iso, "iso")
    bp.add_app_template_global(page_numbers, "page_numbers")
    bp.add_app_template_global(page_url, "page_url")
    bp.app_context_processor(_template_context)
