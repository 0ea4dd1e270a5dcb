"""Exporting the history: the search's reads, one row per plate, CSV and JSON Lines, streamed and consistent."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import event, insert

from numberplate.cli import main
from numberplate.store.db import Database, default_url
from numberplate.store.export import (
    CHUNK_CHARS,
    COLUMNS,
    ExportRow,
    export_rows,
    export_text,
    guard_cell,
    write_csv,
    write_jsonl,
)
from numberplate.store.models import Plate, Read
from numberplate.store.reads import ReadQuery, ReadStore
from numberplate.store.watchlist import Watchlist
from numberplate.types import BoundingBox, Detection, ImageResult, PlateRead, PlateText, VehicleInfo

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def result(*texts: str | None, box: tuple[float, float, float, float] = (10, 20, 110, 50),
           vehicle: VehicleInfo | None = None) -> ImageResult:
    """An image of one plate per text (None: a plate found but not read)."""
    plates = tuple(
        PlateRead(
            Detection(BoundingBox(box[0] + 200 * i, box[1], box[2] + 200 * i, box[3]), 0.9),
            PlateText(t, 0.8125, country="gb") if t is not None else None,
            vehicle=vehicle,
        )
        for i, t in enumerate(texts)
    )
    return ImageResult(640, 480, plates, 12.5)


@pytest.fixture
def store(db: Database) -> ReadStore:
    return ReadStore(db)


@pytest.fixture
def history(store: ReadStore) -> dict[str, int]:
    """Reads chosen so each filter picks a different set; two share a time (the keyset's tie-break on id)."""
    Watchlist(store.db).add("AB12CDE", label="stolen", max_distance=1)

    def save(name: str, *texts: str | None, hours: float, **meta: Any) -> None:
        ids[name] = store.save(result(*texts), created_at=T0 + timedelta(hours=hours), **meta).id

    ids: dict[str, int] = {}
    save("exact", "AB12CDE", hours=0, camera_id="gate", source="web", filename="a.jpg")
    save("near", "AB12CDF", hours=1, camera_id="gate", source="api")
    save("three", "XY99ZZZ", "AB13XYZ", "KL55MNO", hours=2, camera_id="yard", source="video")
    save("none", hours=2, camera_id="yard", source="cli")  # same time as "three"
    save("unread", None, hours=3, source="plate-recognizer")
    save("short", "AB12C", hours=4, camera_id="yard")
    save("late", "ZZ11AAA", hours=30, camera_id="gate", source="api")
    return ids


QUERIES = [
    ReadQuery(),
    ReadQuery(plate="ab-12 cde"),
    ReadQuery(plate="AB12", mode="prefix"),
    ReadQuery(plate="AB12CDE", mode="fuzzy"),
    ReadQuery(plate="AB12CDE", mode="fuzzy", distance=2),
    ReadQuery(plate="AB12CDE", mode="fuzzy", watchlist_only=True),
    ReadQuery(plate="--"),
    ReadQuery(plate="%", mode="prefix"),
    ReadQuery(plate="NOPE"),
    ReadQuery(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=4)),
    ReadQuery(since=T0 + timedelta(hours=2)),
    ReadQuery(until=T0 + timedelta(hours=2)),
    ReadQuery(camera_id="yard"),
    ReadQuery(source="api"),
    ReadQuery(watchlist_only=True),
    ReadQuery(plate="AB", mode="prefix", camera_id="gate", source="api"),
]


def all_pages(store: ReadStore, query: ReadQuery) -> list[int]:
    """The ids of every page of the search, in order."""
    ids: list[int] = []
    page = 1
    while True:
        found = store.search(ReadQuery(**{**query.__dict__, "page": page, "per_page": 2}))
        ids += [r.id for r in found.items]
        if page >= found.pages:
            return ids
        page += 1


def read_ids(rows: list[ExportRow]) -> list[int]:
    """Each read's id once, in the order of the rows."""
    return list(dict.fromkeys(r.read_id for r in rows))


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: ",".join(f"{k}={v}" for k, v in q.__dict__.items()
                                                                   if v != ReadQuery.__dict__.get(k)) or "all")
@pytest.mark.parametrize("batch", [1, 2, 500])
def test_the_export_has_the_reads_of_every_page_of_the_search(store: ReadStore, history: dict[str, int],
                                                              query: ReadQuery, batch: int) -> None:
    expected = all_pages(store, query)
    rows = list(export_rows(store.db, query, batch_reads=batch))
    assert read_ids(rows) == expected
    if query == ReadQuery():
        assert len(expected) == len(history)  # the query set is not trivially empty


def test_one_row_per_plate_and_one_for_a_read_without_plates(store: ReadStore, history: dict[str, int]) -> None:
    rows = list(export_rows(store.db, ReadQuery(camera_id="yard")))
    by_read: dict[int, list[ExportRow]] = {}
    for row in rows:
        by_read.setdefault(row.read_id, []).append(row)
    three = by_read[history["three"]]
    assert [r.plate for r in three] == ["XY99ZZZ", "AB13XYZ", "KL55MNO"]  # in the order of the photo
    assert len({r.plate_id for r in three}) == 3 and all(r.camera_id == "yard" and r.source == "video" for r in three)
    (none,) = by_read[history["none"]]
    record = none.to_dict()
    assert record["plate_id"] is None and record["plate"] is None and record["box_xmin"] is None
    assert record["read_id"] == history["none"] and record["source"] == "cli"
    # A plate that was found but not read is a row with its box and no text.
    (unread,) = list(export_rows(store.db, ReadQuery(source="plate-recognizer")))
    assert unread.plate is None and unread.plate_id is not None and unread.box == (10, 20, 110, 50)


def test_row_values(store: ReadStore) -> None:
    Watchlist(store.db).add("AB12CDE", label="Stolen 2026-03", max_distance=1)
    vehicle = VehicleInfo("AB12CDF", "local", make="Ford", model="Focus", colour="blue", year=2019, vin="WF0X")
    read = store.save(result("AB12CDF", box=(-4.4, 7, 99.6, 40), vehicle=vehicle), camera_id="gate",
                      filename="cam1.jpg", created_at=datetime(2026, 3, 10, 13, 0, 5, 250000, tzinfo=UTC))
    (row,) = list(export_rows(store.db, ReadQuery()))
    record = row.to_dict()
    assert list(record) == list(COLUMNS)
    assert record == {
        **{name: None for name in COLUMNS},
        "read_id": read.id, "created_at": "2026-03-10T13:00:05.250000Z", "plate_id": read.plates[0].id,
        "plate": "AB12CDF", "confidence": 0.8125, "detection_confidence": 0.9, "country": "gb",
        "box_xmin": -4, "box_ymin": 7, "box_xmax": 100, "box_ymax": 40, "camera_id": "gate", "source": "web",
        "filename": "cam1.jpg", "watchlist_label": "Stolen 2026-03", "watchlist_plate": "AB12CDE",
        "vehicle_source": "local", "vehicle_make": "Ford", "vehicle_model": "Focus", "vehicle_colour": "blue",
        "vehicle_year": 2019, "vehicle_vin": "WF0X",
    }


def test_an_empty_history_exports_the_header_only(store: ReadStore) -> None:
    assert "".join(export_text(store.db, ReadQuery(), "csv")) == "\ufeff" + ",".join(COLUMNS) + "\r\n"
    assert "".join(export_text(store.db, ReadQuery(), "jsonl")) == ""


def csv_records(text: str) -> list[dict[str, str]]:
    """CSV text as a spreadsheet would read it: the byte order mark says UTF-8."""
    data = text.encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_has_a_bom_keeps_any_script_and_defuses_formulas(store: ReadStore) -> None:
    Watchlist(store.db).add("京A12345", label="=HYPERLINK(\"http://evil\",\"click\")")
    store.save(result("京A12345", box=(-5, 2, 60, 30)), filename="بوابة.jpg", camera_id="@gate")
    store.save(result("AB12CDE"), filename="-2+3.jpg", camera_id="+cam")
    store.save(result("CD34EFG"), filename="\tx.jpg")
    text = "".join(export_text(store.db, ReadQuery(), "csv"))
    newest, middle, oldest = csv_records(text)
    assert oldest["plate"] == "京A12345" and oldest["filename"] == "بوابة.jpg"
    assert oldest["camera_id"] == "'@gate"
    assert oldest["watchlist_label"] == "'=HYPERLINK(\"http://evil\",\"click\")"
    # Numbers stay numbers, negative ones included: only text is guarded.
    assert oldest["box_xmin"] == "-5" and oldest["confidence"] == "0.8125"
    assert middle["filename"] == "'-2+3.jpg" and middle["camera_id"] == "'+cam" and middle["plate"] == "AB12CDE"
    assert newest["filename"] == "'\tx.jpg"
    assert "京A12345" in text and "بوابة" in text  # written as themselves, not escaped


@pytest.mark.parametrize(("value", "cell"), [
    ("=1+1", "'=1+1"), ("+44 20", "'+44 20"), ("-A", "'-A"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("AB12CDE", "AB12CDE"), ("a=b", "a=b"), ("", ""), (-5, -5), (-0.25, -0.25), (None, None),
])
def test_guard_cell(value: object, cell: object) -> None:
    assert guard_cell(value) == cell


def test_json_lines_are_one_object_per_row_unguarded(store: ReadStore) -> None:
    store.save(result("京A12345", "AB12CDE"), filename="=x\u2028y.jpg")
    lines = "".join(export_text(store.db, ReadQuery(), "jsonl")).split("\n")
    assert lines[-1] == "" and len(lines) == 3
    first, second = (json.loads(line) for line in lines[:2])
    assert list(first) == list(COLUMNS)
    assert first["plate"] == "京A12345" and second["plate"] == "AB12CDE" and first["read_id"] == second["read_id"]
    assert first["filename"] == "=x\u2028y.jpg"  # JSON is not run by spreadsheets: kept as it is
    assert "京A12345" in lines[0] and "\u2028" not in lines[0]  # the separator escaped, lines split safely


def test_writers_add_the_link_columns_they_are_given() -> None:
    row = ExportRow(7, T0, "web", None, None, "ab" * 32)

    def links(r: ExportRow) -> dict[str, str | None]:
        return {"read_url": f"/reads/{r.read_id}", "image_url": f"/images/{r.image_sha256}.jpg", "crop_url": None}

    (record,) = csv_records("".join(write_csv([row], links)))
    assert record["read_url"] == "/reads/7" and record["image_url"] == f"/images/{'ab' * 32}.jpg"
    assert record["crop_url"] == ""
    assert json.loads("".join(write_jsonl([row], links)))["read_url"] == "/reads/7"


def test_reads_saved_or_deleted_during_an_export_are_neither_repeated_nor_mixed_in(
    store: ReadStore, history: dict[str, int]
) -> None:
    before = all_pages(store, ReadQuery())
    rows = export_rows(store.db, ReadQuery(), batch_reads=2)
    first = next(rows)
    assert first.read_id == history["late"]
    # Meanwhile: a read newer than all, one older than all (a camera's own timestamp), one at the cursor's time,
    # and one not yet exported deleted.
    added = [store.save(result("NEW1AAA"), created_at=T0 + timedelta(days=9)).id,
             store.save(result("OLD1AAA"), created_at=T0 - timedelta(days=9)).id,
             store.save(result("TIE1AAA"), created_at=T0 + timedelta(hours=2)).id]
    store.delete(history["near"])
    exported = [first.read_id, *read_ids(list(rows))]
    assert exported == [i for i in before if i != history["near"]]
    assert not set(added) & set(exported)


def bulk_history(db: Database, count: int) -> None:
    """``count`` reads of one plate each, a minute apart, inserted at once (saving each would take minutes)."""
    with db.session() as session:
        reads = [{"created_at": T0 + timedelta(minutes=i), "source": "cli", "width": 640, "height": 480,
                  "camera_id": "gate", "filename": f"frame-{i:05d}.jpg"} for i in range(count)]
        first = session.scalar(insert(Read).values(reads[0]).returning(Read.id))
        session.execute(insert(Read), reads[1:])
        assert first is not None
        session.execute(insert(Plate), [
            {"read_id": first + i, "position": 0, "text": f"AB{i:05d}", "plate_norm": f"AB{i:05d}",
             "confidence": 0.9, "detection_confidence": 0.8, "box_xmin": 1, "box_ymin": 2, "box_xmax": 3,
             "box_ymax": 4, "country": "gb", "candidates": []} for i in range(count)
        ])


def peak_while_streaming(pieces: Iterator[str]) -> tuple[int, int, int]:
    """(peak bytes allocated, characters, pieces) while consuming ``pieces`` one at a time."""
    tracemalloc.start()
    try:
        chars = count = 0
        for piece in pieces:
            chars += len(piece)
            count += 1
        return tracemalloc.get_traced_memory()[1], chars, count
    finally:
        tracemalloc.stop()


def test_a_large_export_is_streamed_in_bounded_memory(store: ReadStore) -> None:
    bulk_history(store.db, 5000)
    selects: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(store.db.engine, "before_cursor_execute", count)
    try:
        pieces = export_text(store.db, ReadQuery(), "csv")
        first = next(pieces)
        # The first 64 KB piece needs the largest id and a batch or two of the 10, not the whole history.
        assert first.startswith("\ufeffread_id,") and 2 <= len(selects) <= 3, len(selects)
        rest = list(pieces)
    finally:
        event.remove(store.db.engine, "before_cursor_execute", count)
    assert len(selects) == 1 + 10 + 1  # the largest id, 10 batches of 500 reads, and the empty one that ends it
    pieces_seen = [first, *rest]
    assert sum(p.count("\r\n") for p in pieces_seen) == 5001
    assert len(pieces_seen) >= 8 and max(len(p) for p in pieces_seen) < CHUNK_CHARS + 200
    # Memory: streaming holds one batch of rows and one piece at a time, so its peak is the same whether 1,000 or
    # 5,000 reads are exported (about 1.6 MB here), and well under what holding every row would take.
    small_peak, small_chars, _ = peak_while_streaming(
        export_text(store.db, ReadQuery(since=T0 + timedelta(minutes=4000)), "csv"))
    large_peak, large_chars, pieces_count = peak_while_streaming(export_text(store.db, ReadQuery(), "csv"))
    assert large_chars > 4.5 * small_chars and pieces_count >= 8
    assert large_peak < 1.3 * small_peak, (small_peak, large_peak)
    tracemalloc.start()
    try:
        every_row = list(export_rows(store.db, ReadQuery()))
        held = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(every_row) == 5000 and large_peak < held / 2, (large_peak, held)


# The `numberplate db export` command.


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"NUMBERPLATE_INSTANCE_PATH": str(tmp_path / "instance"), "NUMBERPLATE_CONFIG": ""}


@pytest.fixture
def cli_store(env: dict[str, str]) -> Iterator[ReadStore]:
    """The history the command's config opens (SQLite in the instance folder)."""
    db = Database(default_url(env["NUMBERPLATE_INSTANCE_PATH"]))
    db.migrate()
    yield ReadStore(db)
    db.close()


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, ["db", "export", *args], env=env)


def test_cli_exports_csv_to_stdout_with_the_api_filters(env: dict[str, str], cli_store: ReadStore) -> None:
    gate = cli_store.save(result("京A12345", "AB12CDE"), camera_id="gate", created_at=T0)
    cli_store.save(result("AB12CDF"), camera_id="yard", created_at=T0 + timedelta(hours=1))
    late = cli_store.save(result("ZZ11AAA"), camera_id="gate", source="api", created_at=T0 + timedelta(days=2))
    res = invoke(env)
    assert res.exit_code == 0, res.output
    records = csv_records(res.stdout_bytes.decode("utf-8"))
    assert [r["plate"] for r in records] == ["ZZ11AAA", "AB12CDF", "京A12345", "AB12CDE"]
    assert "read_url" not in records[0]  # the command does not know where the web app is served
    res = invoke(env, "--camera-id", "gate", "--until", "2026-03-11")
    assert [r["read_id"] for r in csv_records(res.stdout_bytes.decode())] == [str(gate.id)] * 2
    res = invoke(env, "--plate", "ab12cdx", "--mode", "fuzzy", "--since", "2026-03-10T12:30:00+00:00")
    assert [r["plate"] for r in csv_records(res.stdout_bytes.decode())] == ["AB12CDF"]
    res = invoke(env, "--source", "api", "--format", "jsonl")
    assert [json.loads(line)["read_id"] for line in res.stdout.splitlines()] == [late.id]


def test_cli_writes_a_file_whole(env: dict[str, str], cli_store: ReadStore, tmp_path: Path) -> None:
    cli_store.save(result("AB12CDE", "CD34EFG"))
    out = tmp_path / "reads.jsonl"
    res = invoke(env, "--format", "jsonl", "--out", str(out))
    assert res.exit_code == 0 and res.stdout == "" and "exported 2 row(s) to" in res.stderr
    assert [json.loads(line)["plate"] for line in out.read_text("utf-8").splitlines()] == ["AB12CDE", "CD34EFG"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["instance", "reads.jsonl"]  # no temporary file left


def test_cli_an_out_file_that_cannot_be_written_is_named_in_one_line(env: dict[str, str], cli_store: ReadStore,
                                                                     tmp_path: Path) -> None:
    out = tmp_path / "no such folder" / "reads.csv"
    res = invoke(env, "--out", str(out))
    assert res.exit_code == 1 and res.stderr.count("\n") == 1, res.stderr
    assert res.stderr.startswith(f"Error: cannot write the export to {out}: No such file or directory;"), res.stderr
    assert ".part" not in res.stderr  # the temporary file is no concern of the user's


@pytest.mark.parametrize(("args", "message"), [
    (("--format", "xml"), "'xml' is not one of 'csv', 'jsonl'"),
    (("--mode", "soundex"), "'soundex' is not one of 'exact', 'prefix', 'fuzzy'"),
    (("--distance", "3"), "3 is not in the range 1<=x<=2"),
    (("--since", "yesterday"), "'yesterday' is not an ISO 8601 date or time"),
    (("--since", "2026-03-11", "--until", "2026-03-10"), "'--until': must be later than --since"),
    (("--camera-id", "gate;drop"), "camera id 'gate;drop'"),
    (("--source", "fax"), "'fax' is not one of"),
])
def test_cli_bad_filters_are_usage_errors(env: dict[str, str], args: tuple[str, ...], message: str) -> None:
    res = invoke(env, *args)
    assert res.exit_code == 2 and message in res.stderr, res.stderr
    assert not (Path(env["NUMBERPLATE_INSTANCE_PATH"]) / "numberplate.db").exists()  # refused before opening it


def test_cli_stops_quietly_when_the_reader_of_its_output_goes(env: dict[str, str], cli_store: ReadStore) -> None:
    bulk_history(cli_store.db, 3000)  # far more than a pipe holds
    proc = subprocess.Popen([sys.executable, "-m", "numberplate", "db", "export"], env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"\xef\xbb\xbfread_id,")  # as `| head -1` would
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert err == "", err  # no traceback, no "Exception ignored" at exit
