"""The local vehicle registry pages: list, add and edit a vehicle, delete one, import a CSV file."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from numberplate.errors import NotFoundError
from numberplate.store.clock import normalize_plate
from numberplate.store.models import Vehicle
from numberplate.store.vehicles import CSV_COLUMNS, DETAIL_FIELDS, RegistryImportError, VehicleExistsError
from numberplate.web.errors import WebError
from numberplate.web.params import as_country, as_int, clean_filename, invalid
from numberplate.web.state import get_state
from numberplate.web.views import private_page

bp = Blueprint("vehicles", __name__)

PER_PAGE = 50
CSV_FIELD = "csv"
FORM_FIELDS = ("plate", "country", *DETAIL_FIELDS)


def _list_page(error: str | None = None, status: int = 200, page_arg: Any = None) -> BaseResponse:
    page = as_int("page", page_arg, 1, 1, 1_000_000)
    rows = get_state().vehicles.list(limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE)
    return private_page(
        "vehicles.html", status=status, vehicles=rows[:PER_PAGE], page=page, has_next=len(rows) > PER_PAGE,
        error=error, columns=CSV_COLUMNS,
    )


@bp.get("/vehicles")
def index() -> BaseResponse:
    """The registry, by plate, a page at a time; and the CSV import form."""
    try:
        return _list_page(page_arg=request.args.get("page"))
    except WebError as e:
        return _list_page(e.message, 422)


def _form_page(form: dict[str, str], original: tuple[str, str] | None, error: str | None = None,
               status: int = 200) -> BaseResponse:
    return private_page("vehicle_form.html", status=status, form=form, original=original, error=error)


def _stored_vehicle(plate: str, country: str) -> dict[str, str] | None:
    """The registry row for exactly this plate and country as form values, or None."""
    with get_state().db.session() as session:
        row = session.scalar(
            select(Vehicle).where(Vehicle.plate_norm == normalize_plate(plate), Vehicle.country == country)
        )
        if row is None:
            return None
        form = {name: "" if getattr(row, name) is None else str(getattr(row, name)) for name in DETAIL_FIELDS}
        return {"plate": row.plate_norm, "country": row.country, **form}


@bp.get("/vehicles/new")
def new() -> BaseResponse:
    """An empty vehicle form."""
    return _form_page(dict.fromkeys(FORM_FIELDS, ""), None)


@bp.get("/vehicles/edit")
def edit() -> BaseResponse:
    """The form for one vehicle (``?plate=AB12CDE&country=gb``; the country in any case, as stored: lower)."""
    plate, country = request.args.get("plate", ""), request.args.get("country", "").strip().lower()
    form = _stored_vehicle(plate, country)
    if form is None:
        raise WebError(404, "not_found", f"{plate[:20]!r} ({country[:8] or 'no country'}) is not in the registry.")
    return _form_page(form, (form["plate"], form["country"]))


@bp.post("/vehicles")
def save() -> BaseResponse:
    """Add a vehicle, or change one (the hidden original plate and country say which).

    Neither ever replaces another vehicle: a plate and country already in the registry are refused (409).
    """
    form = {name: request.form.get(name, "").strip() for name in FORM_FIELDS}
    original_plate = request.form.get("original_plate", "")
    original = (original_plate, request.form.get("original_country", "")) if original_plate else None
    registry = get_state().vehicles
    try:
        if not form["plate"]:
            raise invalid("plate", "is required")
        values = {**form, "country": as_country("country", form["country"]) or ""}
        vehicle = registry.update(*original, values) if original else registry.add(values)
    except WebError as e:
        return _form_page(form, original, e.message, 422)
    except RegistryImportError as e:
        return _form_page(form, original, str(e).removeprefix("vehicle: "), 422)
    except VehicleExistsError as e:
        return _form_page(form, original, f"{e}. Nothing was changed.", 409)
    except NotFoundError as e:  # deleted since the form was opened
        return _form_page(form, None, f"{e}; it may have been deleted. Add it again with this form.", 404)
    flash(f"{vehicle.plate} was {'updated in' if original else 'added to'} the registry.", "info")
    return redirect(url_for("vehicles.index"), 303)


@bp.post("/vehicles/delete")
def delete() -> BaseResponse:
    """Remove one vehicle (form fields ``plate`` and ``country``)."""
    plate, country = request.form.get("plate", ""), request.form.get("country", "")
    get_state().vehicles.delete(plate, country)
    flash(f"{normalize_plate(plate)} was deleted from the registry.", "info")
    return redirect(url_for("vehicles.index"), 303)


@bp.post("/vehicles/import")
def import_csv() -> BaseResponse:
    """Import a CSV file (header ``plate`` and any of the other columns); a bad line imports nothing (422)."""
    files = [f for f in request.files.getlist(CSV_FIELD) if f.filename]
    if not files:
        return _list_page("No CSV file was uploaded. Choose a .csv file and send it again.", 400)
    if len(files) > 1:
        return _list_page(f"{len(files)} files were sent; import one CSV file at a time.", 400)
    name = clean_filename(files[0].filename, "CSV")
    try:
        text = files[0].read().decode("utf-8-sig")
    except UnicodeDecodeError:
        return _list_page(f"{name} is not UTF-8 text; save it as CSV UTF-8 and send it again.", 422)
    try:
        report = get_state().vehicles.import_csv(io.StringIO(text, newline=""))
    except RegistryImportError as e:
        return _list_page(f"{name}: {str(e).removeprefix('CSV ').removeprefix('CSV: ')}. Nothing was imported.", 422)
    flash(f"{name}: {report.added} vehicle{'s' if report.added != 1 else ''} added, {report.updated} updated.", "info")
    return redirect(url_for("vehicles.index"), 303)
