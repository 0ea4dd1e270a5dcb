"""The history page: stored reads, newest first, searchable by plate, date, camera and source."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, request

from numberplate.store.reads import SEARCH_MODES, SOURCES, Page
from numberplate.web.api import SEARCH_PARAMETERS, export_format, export_links, export_response, read_query
from numberplate.web.errors import WebError
from numberplate.web.state import get_state
from numberplate.web.views import private_page

bp = Blueprint("history", __name__)

# The form: what the search selects (an export of it carries these: every read, not one page), and per_page.
FORM_FIELDS = (*SEARCH_PARAMETERS, "per_page")


def _query_args(args: Any) -> dict[str, str]:
    """The search form's values; a date-only ``until`` means "to the end of that day"."""
    values = {name: args.get(name, "").strip() for name in (*FORM_FIELDS, "page")}
    until = values["until"]
    if len(until) == 10:
        # A bad date is left for read_query to name; 9999-12-31 has no next day, and none is later anyway.
        with contextlib.suppress(ValueError, OverflowError):
            values["until"] = (date.fromisoformat(until) + timedelta(days=1)).isoformat()
    return values


@bp.get("/history")
def index() -> Response:
    """Search the stored reads; a bad parameter shows its message above the form (422)."""
    form = {name: request.args.get(name, "").strip() for name in FORM_FIELDS}
    error = None
    try:
        page = get_state().reads.search(read_query(_query_args(request.args)))
    except WebError as e:
        error, page = e.message, Page((), 0, 1, 20)
    return private_page(
        "history.html",
        status=422 if error else 200,
        page=page,
        form=form,
        error=error,
        modes=SEARCH_MODES,
        sources=SOURCES,
        searched=any(form[name] for name in SEARCH_PARAMETERS),
        export_args={name: form[name] for name in SEARCH_PARAMETERS if form[name]},
    )


@bp.get("/history/export")
def export() -> Response:
    """The reads the search finds, all pages, as a CSV or JSON Lines download (``format``); a bad parameter is
    the same 422 as the search's."""
    query = read_query(_query_args(request.args))
    links = export_links("pages.read_page", "pages.image")
    return export_response(get_state().reads, query, export_format(request.args), links)
