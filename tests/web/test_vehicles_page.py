"""The vehicle registry pages: list and pages, add, edit, rename, delete, CSV import, and every bad input."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flask.testing import FlaskClient

from numberplate.errors import NotFoundError
from numberplate.web import get_state
from tests.web.forms import form_token, post_form, text_of

FORD = {
    "plate": "ab12 cde", "country": "GB", "make": "FORD", "model": "Focus", "colour": "Blue", "fuel": "Petrol",
    "year": "2019", "engine_size": "1598 cc", "body": "Hatchback", "registration_date": "2019-03-01",
    "tax_status": "Taxed", "inspection_status": "Valid", "vin": "WF0XXXGCDX1234567", "description": "Fleet car",
}


def import_csv(client: FlaskClient, text: bytes | str, name: str = "vehicles.csv") -> tuple[int, str]:
    data = text.encode() if isinstance(text, str) else text
    res = post_form(client, "/vehicles/import", {"csv": (io.BytesIO(data), name)}, content_type="multipart/form-data")
    return res.status_code, res.get_data(as_text=True)


def test_empty_registry_and_forms_render(client: FlaskClient) -> None:
    html = client.get("/vehicles").get_data(as_text=True)
    assert "The registry is empty." in html
    assert '<label for="csv">' in html
    html = client.get("/vehicles/new").get_data(as_text=True)
    assert "Add a vehicle" in html
    for name in FORD:
        assert f'<label for="v-{name}">' in html and f'name="{name}"' in html


def test_add_edit_rename_and_delete(client: FlaskClient, app: Flask) -> None:
    registry = get_state(app).vehicles
    res = post_form(client, "/vehicles", FORD)
    assert res.status_code == 303 and res.headers["Location"] == "/vehicles"
    html = client.get("/vehicles").get_data(as_text=True)
    assert "AB12CDE was added to the registry." in html
    assert "FORD Focus" in html and "Blue" in html and "2019" in html and "Taxed" in html
    found = registry.find("AB12CDE", "gb")
    assert (found.make, found.year, found.vin, found.description) == ("FORD", 2019, "WF0XXXGCDX1234567", "Fleet car")

    html = client.get("/vehicles/edit?plate=AB12CDE&country=gb").get_data(as_text=True)
    assert 'name="colour" type="text" value="Blue"' in html
    assert 'name="original_plate" value="AB12CDE"' in html
    res = post_form(client, "/vehicles", {**FORD, "colour": "Red", "original_plate": "AB12CDE",
                                          "original_country": "gb"})
    assert res.status_code == 303
    assert "AB12CDE was updated in the registry." in client.get("/vehicles").get_data(as_text=True)
    assert registry.find("AB12CDE", "gb").colour == "Red"

    # A new plate (a correction) replaces the old row instead of adding a second one.
    post_form(client, "/vehicles", {**FORD, "plate": "AB12CDF", "original_plate": "AB12CDE",
                                    "original_country": "gb"})
    assert [(c, v.plate, v.colour) for c, v in registry.list()] == [("gb", "AB12CDF", "Blue")]

    res = post_form(client, "/vehicles/delete", {"plate": "AB12CDF", "country": "gb"})
    assert res.status_code == 303
    assert "AB12CDF was deleted from the registry." in client.get("/vehicles").get_data(as_text=True)
    assert registry.list() == []
    assert post_form(client, "/vehicles/delete", {"plate": "AB12CDF", "country": "gb"}).status_code == 404


def test_renaming_onto_another_vehicle_is_409_and_changes_nothing(client: FlaskClient, app: Flask) -> None:
    registry = get_state(app).vehicles
    registry.upsert({"plate": "AB12CDE", "country": "gb", "make": "Ford", "model": "Fiesta", "year": "2015"})
    registry.upsert({"plate": "96T8557", "country": "tn", "make": "Opel", "model": "Combo", "year": "2010"})
    before = registry.list()
    res = post_form(client, "/vehicles", {"original_plate": "AB12CDE", "original_country": "gb", "plate": "96T8557",
                                          "country": "tn", "make": "Ford", "model": "Fiesta"})
    html = res.get_data(as_text=True)
    assert res.status_code == 409
    assert "96T8557 (tn) is already in the registry; edit that vehicle instead. Nothing was changed." in text_of(html)
    assert 'name="original_plate" value="AB12CDE"' in html and 'name="make" type="text" value="Ford"' in html
    assert registry.list() == before
    assert "was updated" not in client.get("/vehicles").get_data(as_text=True)


def test_adding_a_vehicle_that_is_there_is_409_and_keeps_it(client: FlaskClient, app: Flask) -> None:
    registry = get_state(app).vehicles
    registry.upsert({"plate": "AB12CDE", "country": "gb", "make": "Ford", "model": "Fiesta", "year": "2015"})
    res = post_form(client, "/vehicles", {**FORD, "plate": "AB12 CDE", "country": "gb"})
    assert res.status_code == 409
    assert "AB12CDE (gb) is already in the registry" in text_of(res.get_data(as_text=True))
    assert (registry.find("AB12CDE", "gb").model, registry.find("AB12CDE", "gb").year) == ("Fiesta", 2015)


def test_saving_a_vehicle_deleted_meanwhile_is_404(client: FlaskClient, app: Flask) -> None:
    res = post_form(client, "/vehicles", {**FORD, "original_plate": "GONE1", "original_country": "gb"})
    html = text_of(res.get_data(as_text=True))
    assert res.status_code == 404 and "GONE1 (gb) is not in the registry; it may have been deleted." in html
    assert get_state(app).vehicles.list() == []


@pytest.mark.parametrize("country", ["GB", "gb", " Gb "])
def test_edit_and_delete_find_the_vehicle_whatever_the_case_of_its_country(
    client: FlaskClient, app: Flask, country: str
) -> None:
    get_state(app).vehicles.upsert({"plate": "AB12CDE", "country": "gb", "make": "Ford"})
    res = client.get("/vehicles/edit", query_string={"plate": "ab12 cde", "country": country})
    html = res.get_data(as_text=True)
    assert res.status_code == 200
    assert 'name="original_plate" value="AB12CDE"' in html and 'name="original_country" value="gb"' in html
    assert post_form(client, "/vehicles/delete", {"plate": "AB12CDE", "country": country}).status_code == 303
    assert get_state(app).vehicles.list() == []


def test_edit_of_an_unknown_vehicle_is_404(client: FlaskClient) -> None:
    res = client.get("/vehicles/edit?plate=NOPE&country=")
    assert res.status_code == 404
    assert "is not in the registry" in res.get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"plate": ""}, "parameter 'plate': is required"),
        ({"plate": "--"}, "plate '--' must have 1 to 16 letters or digits"),
        ({"year": "new"}, "year 'new' is not a whole number"),
        ({"year": "1700"}, "year '1700' is not a plausible model year"),
        ({"country": "Great Britain"}, "parameter 'country': must be a country code"),
        ({"make": "M" * 101}, "make must be at most 100 characters, got 101"),
        ({"vin": "V" * 33}, "vin must be at most 32 characters, got 33"),
    ],
)
def test_bad_vehicle_form_is_422_and_keeps_the_registry(
    client: FlaskClient, app: Flask, changes: dict[str, str], message: str
) -> None:
    get_state(app).vehicles.upsert({"plate": "KEEP1", "make": "VW"})
    res = post_form(client, "/vehicles", {**FORD, **changes})
    html = res.get_data(as_text=True)
    assert res.status_code == 422
    assert message in text_of(html).replace("&#39;", "'")
    assert 'name="model" type="text" value="Focus"' in html  # what was typed is kept
    assert [v.plate for _, v in get_state(app).vehicles.list()] == ["KEEP1"]


def test_import_csv(client: FlaskClient, app: Flask) -> None:
    csv = "plate,country,make,model,color,year\nAB12CDE,gb,FORD,Focus,Blue,2019\nXY34ZZZ,,VW,Golf,,\n"
    status, _ = import_csv(client, "\ufeff" + csv)  # a BOM, as spreadsheets write it
    assert status == 303
    html = client.get("/vehicles").get_data(as_text=True)
    assert "vehicles.csv: 2 vehicles added, 0 updated." in html
    assert [(c, v.plate, v.colour) for c, v in get_state(app).vehicles.list()] == [
        ("gb", "AB12CDE", "Blue"), ("", "XY34ZZZ", None),
    ]
    assert "VW Golf" in html and "<td>any</td>" in html

    status, _ = import_csv(client, "plate,country,colour\r\nAB12CDE,gb,Red\r\n", "update.csv")
    assert status == 303
    assert "update.csv: 0 vehicles added, 1 updated." in client.get("/vehicles").get_data(as_text=True)
    assert get_state(app).vehicles.find("AB12CDE", "gb").colour == "Red"


def test_import_of_a_semicolon_separated_file(client: FlaskClient, app: Flask) -> None:
    # Excel's "CSV" where the decimal mark is a comma; it used to say the header had no 'plate' column.
    status, _ = import_csv(client, "\ufeffplate;country;make;engine_size\r\nAB12CDE;gb;Ford;1,6\r\n", "excel.csv")
    assert status == 303
    assert "excel.csv: 1 vehicle added, 0 updated." in client.get("/vehicles").get_data(as_text=True)
    found = get_state(app).vehicles.find("AB12CDE", "gb")
    assert (found.make, found.engine_size) == ("Ford", "1,6")


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ("plate,make\nAB1,FORD\nAB2,VW\nAB3,FIAT,x\n", 422, "vehicles.csv: line 4: more fields than header columns"),
        ("plate,year\nAB1,2019\nAB2,soon\n", 422, "vehicles.csv: line 3: year 'soon' is not a whole number"),
        ("make,model\nFORD,Focus\n", 422, "vehicles.csv: the header must have a 'plate' column"),
        ("plate,owner\nAB1,Ann\n", 422, "vehicles.csv: unknown column 'owner'"),
        ("", 422, "the header must have a 'plate' column"),
        (b"plate,make\nAB1,Citro\xebn\n", 422, "vehicles.csv is not UTF-8 text"),
        ("plate,country\nAB1,gb\nAB2,United Kingdom\n", 422,
         "vehicles.csv: line 3: country 'united kingdom' must be a country code"),
        ("plate,country,make\nAB1,gb,Ford\n\"UNTERMINATED,gb,X\n", 422,
         "vehicles.csv: line 3: a quoted field is not closed"),
        ("plate,model\nAB1,Focus\nAB2," + "m" * 101 + "\n", 422, "vehicles.csv: line 3: model must be at most 100"),
    ],
)
def test_bad_csv_imports_nothing(
    client: FlaskClient, app: Flask, data: str | bytes, status: int, message: str
) -> None:
    get_state(app).vehicles.upsert({"plate": "KEEP1", "make": "VW"})
    code, html = import_csv(client, data)
    assert code == status
    assert message in text_of(html).replace("&#39;", "'")
    assert 'class="error-message" role="alert"' in html
    assert "UTF-8" in message or ". Nothing was imported." in html
    assert [v.plate for _, v in get_state(app).vehicles.list()] == ["KEEP1"]


def test_import_without_a_file_is_400(client: FlaskClient) -> None:
    res = post_form(client, "/vehicles/import", {}, content_type="multipart/form-data")
    assert res.status_code == 400
    assert "No CSV file was uploaded." in res.get_data(as_text=True)


def test_import_of_several_files_is_400_and_imports_none(client: FlaskClient, app: Flask) -> None:
    # The form takes one file; a client that sends two must not have the second dropped without a word.
    files = [(io.BytesIO(b"plate\nAB1\n"), "one.csv"), (io.BytesIO(b"plate\nAB2\n"), "two.csv")]
    res = post_form(client, "/vehicles/import", {"csv": files}, content_type="multipart/form-data")
    assert res.status_code == 400
    assert "2 files were sent; import one CSV file at a time." in res.get_data(as_text=True)
    assert get_state(app).vehicles.list() == []


def test_an_imported_file_name_loses_bidi_characters(client: FlaskClient) -> None:
    code, html = import_csv(client, "make\nFORD\n", "rlo\u202evsc.exe")
    assert code == 422
    assert "rlovsc.exe: the header must have a &#39;plate&#39; column" in html
    assert "\u202e" not in html


def test_registry_pages(client: FlaskClient, app: Flask) -> None:
    rows = "".join(f"P{i:03d},MAKE{i}\n" for i in range(120))
    import_csv(client, "plate,make\n" + rows)
    html = client.get("/vehicles").get_data(as_text=True)
    assert "P000" in html and "P049" in html and "P050" not in html
    assert 'href="/vehicles?page=2" rel="next"' in html and 'rel="prev"' not in html
    html = client.get("/vehicles?page=3").get_data(as_text=True)
    assert "P100" in html and "P119" in html and "P099" not in html
    assert 'href="/vehicles?page=2" rel="prev"' in html and 'rel="next"' not in html
    res = client.get("/vehicles?page=zero")
    assert res.status_code == 422
    assert "parameter &#39;page&#39;: must be a whole number" in res.get_data(as_text=True)


def test_vehicle_changes_need_the_csrf_token(client: FlaskClient, app: Flask) -> None:
    get_state(app).vehicles.upsert({"plate": "KEEP1"})
    form_token(client)
    assert client.post("/vehicles/delete", data={"plate": "KEEP1", "country": ""}).status_code == 400
    assert client.post("/vehicles", data=FORD).status_code == 400
    assert get_state(app).vehicles.find("KEEP1").plate == "KEEP1"
    with pytest.raises(NotFoundError):
        get_state(app).vehicles.find("AB12CDE")
