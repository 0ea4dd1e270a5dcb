"""The watchlist page: plates to alert on (add, delete) and the recent reads that raised an alert."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from numberplate.store.reads import ReadQuery
from numberplate.store.watchlist import WatchlistError
from numberplate.web.errors import WebError
from numberplate.web.params import as_int, invalid
from numberplate.web.state import get_state
from numberplate.web.views import private_page

bp = Blueprint("watchlist", __name__)

RECENT_ALERTS = 10
DEFAULT_FORM = {"plate": "", "label": "", "max_distance": "1"}


def _page(form: dict[str, str], error: str | None = None, status: int = 200) -> BaseResponse:
    state = get_state()
    alerts = state.reads.search(ReadQuery(watchlist_only=True, per_page=RECENT_ALERTS))
    return private_page(
        "watchlist.html", status=status, entries=state.watchlist.list(), alerts=alerts, form=form, error=error
    )


@bp.get("/watchlist")
def index() -> BaseResponse:
    """The watchlist, the form to add a plate, and recent alerts."""
    return _page(DEFAULT_FORM)


@bp.post("/watchlist")
def add() -> BaseResponse:
    """Put a plate on the watchlist; an invalid or duplicate plate shows the form again with the reason (422)."""
    form = {name: request.form.get(name, default).strip() for name, default in DEFAULT_FORM.items()}
    try:
        if not form["plate"]:
            raise invalid("plate", "is required: the plate to watch for")
        distance = as_int("max_distance", form["max_distance"], 1, 0, 2)
        entry = get_state().watchlist.add(form["plate"], form["label"], distance)
    except WebError as e:
        return _page(form, e.message, 422)
    except WatchlistError as e:
        return _page(form, str(e), 422)
    flash(f"{entry.plate} is on the watchlist: new reads within {entry.max_distance} "
          f"character{'s' if entry.max_distance != 1 else ''} of it raise an alert.", "info")
    return redirect(url_for("watchlist.index"), 303)


@bp.post("/watchlist/<id:watch_id>/delete")
def delete(watch_id: int) -> BaseResponse:
    """Remove a watchlist entry (past reads keep their text)."""
    state = get_state()
    entry = state.watchlist.get(watch_id)
    state.watchlist.delete(watch_id)
    flash(f"{entry.plate} was removed from the watchlist.", "info")
    return redirect(url_for("watchlist.index"), 303)
