"""`numberplate token`, `numberplate db` and `numberplate lookup` (local registry) on a real SQLite file."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from numberplate.cli import main
from numberplate.store.clock import utcnow
from numberplate.store.db import Database, default_url
from numberplate.store.files import ImageFiles
from numberplate.store.reads import ReadStore
from numberplate.types import ImageResult


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"NUMBERPLATE_INSTANCE_PATH": str(tmp_path / "instance"), "NUMBERPLATE_CONFIG": ""}


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_token_create_list_revoke(env: dict[str, str]) -> None:
    code, out, err = run(env, "token", "create", "home assistant", "--max-calls", "500")
    assert code == 0 and out.strip().startswith("np_") and "created" in err
    secret = out.strip()
    code, out, _ = run(env, "token", "list", "--json")
    tokens = json.loads(out)
    assert tokens[0]["name"] == "home assistant" and tokens[0]["max_calls"] == 500 and not tokens[0]["revoked"]
    assert secret not in out and secret[:10] == tokens[0]["prefix"]
    assert "home assistant" in run(env, "token", "list")[1]
    assert run(env, "token", "revoke", str(tokens[0]["id"]))[0] == 0
    assert json.loads(run(env, "token", "list", "--json")[1])[0]["revoked"]
    code, _, err = run(env, "token", "revoke", "999")
    assert code == 1 and "no token with id 999" in err


def test_db_upgrade_and_purge(env: dict[str, str]) -> None:
    code, out, _ = run(env, "db", "upgrade")
    assert code == 0 and "up to date" in out
    assert run(env, "db", "purge", "--days", "30")[1].startswith("deleted 0 read(s)")
    code, _, err = run(env, "db", "purge")
    assert code == 1 and "no retention period" in err


def test_bad_database_url_is_a_clear_error(env: dict[str, str]) -> None:
    code, _, err = run({**env, "NUMBERPLATE_DATABASE_URL": "nosuchdb://x"}, "token", "list")
    assert code == 1 and "driver" in err


def one_line_error(env: dict[str, str], *args: str) -> str:
    """Run a command that must fail with exit code 1 and one line of error; return the line."""
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    return result.stderr


def test_a_database_folder_that_cannot_be_made_is_a_one_line_error(env: dict[str, str]) -> None:
    err = one_line_error({**env, "NUMBERPLATE_INSTANCE_PATH": "/dev/null/x"}, "token", "list")
    assert "cannot create the folder /dev/null/x" in err and "instance_path" in err
    err = one_line_error({**env, "NUMBERPLATE_DATABASE_URL": "sqlite:////proc/x/y.db"}, "token", "list")
    assert "cannot create the folder /proc/x" in err


@pytest.mark.parametrize("command", [("db", "upgrade"), ("token", "list"), ("token", "create", "x"),
                                     ("db", "purge", "--days", "1")])
def test_a_file_that_is_not_a_database_is_a_one_line_error_and_kept(env: dict[str, str], command: tuple[str, ...]
                                                                     ) -> None:
    instance = Path(env["NUMBERPLATE_INSTANCE_PATH"])
    instance.mkdir()
    (instance / "numberplate.db").write_text("garbage\n")
    err = one_line_error(env, *command)
    assert "file is not a database" in err and "move it away" in err
    assert (instance / "numberplate.db").read_text() == "garbage\n"


def test_writing_a_read_only_database_is_a_one_line_error(env: dict[str, str]) -> None:
    assert run(env, "db", "upgrade")[0] == 0
    path = Path(env["NUMBERPLATE_INSTANCE_PATH"]) / "numberplate.db"
    read_only = {**env, "NUMBERPLATE_DATABASE_URL": f"sqlite:///file:{path}?mode=ro&uri=true"}
    assert run(read_only, "token", "list")[0] == 0
    err = one_line_error(read_only, "token", "create", "x")
    assert "attempt to write a readonly database" in err and "writable" in err


def test_a_database_of_a_newer_release_is_a_one_line_error(env: dict[str, str]) -> None:
    assert run(env, "db", "upgrade")[0] == 0
    path = Path(env["NUMBERPLATE_INSTANCE_PATH"]) / "numberplate.db"
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    conn.close()
    for command in (("db", "upgrade"), ("token", "list")):
        err = one_line_error(env, *command)
        assert "schema revision 0099" in err and "upgrade numberplate" in err
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0099",)]
    conn.close()


def test_hostile_token_ids_and_limits(env: dict[str, str]) -> None:
    assert run(env, "token", "create", "camera")[0] == 0
    assert "there is no token with id 99999999999999999999" in one_line_error(env, "token", "revoke",
                                                                               "99999999999999999999")
    code, _, err = run(env, "token", "create", "big", "--max-calls", "3000000000")  # PostgreSQL's INTEGER ends at 2**31
    assert code == 2 and "Invalid value for '--max-calls'" in err and "1<=x<=1000000000" in err
    assert run(env, "token", "create", "most", "--max-calls", "1000000000")[0] == 0
    assert [t["name"] for t in json.loads(run(env, "token", "list", "--json")[1])] == ["camera", "most"]


def test_purge_stops_with_a_one_line_error_at_a_file_it_cannot_remove(env: dict[str, str]) -> None:
    instance = Path(env["NUMBERPLATE_INSTANCE_PATH"])
    db = Database(default_url(instance))
    db.migrate()
    store = ReadStore(db, ImageFiles(instance / "images"))
    old = [store.save(ImageResult(64, 48, (), 1.0), image_jpeg=bytes([i]), created_at=utcnow() - timedelta(days=40))
           for i in range(2)]
    blocked = store.files.path(old[0].image_sha256 or "")  # type: ignore[union-attr]
    blocked.unlink()
    blocked.mkdir()  # something this user cannot unlink (root may unlink any file)
    err = one_line_error(env, "db", "purge", "--days", "30")
    assert f"cannot remove the image file {blocked}" in err
    assert store.counts()["reads"] == 1  # it stopped there: the other read and its file are still there
    blocked.rmdir()
    assert run(env, "db", "purge", "--days", "30")[1].startswith("deleted 1 read(s)")
    db.close()


def test_sweep_removes_only_old_files_that_no_read_refers_to(env: dict[str, str]) -> None:
    instance = Path(env["NUMBERPLATE_INSTANCE_PATH"])
    db = Database(default_url(instance))
    db.migrate()
    store = ReadStore(db, ImageFiles(instance / "images"))
    kept = store.save(ImageResult(64, 48, (), 1.0), image_jpeg=b"kept")
    orphan = store.files.path(store.files.put(b"orphan"))
    fresh = store.files.path(store.files.put(b"fresh orphan"))
    hours_ago = utcnow().timestamp() - 3 * 3600
    for path in (orphan, store.files.path(kept.image_sha256 or "")):  # type: ignore[union-attr]
        os.utime(path, (hours_ago, hours_ago))
    code, out, err = run(env, "db", "sweep")
    assert code == 0 and out.strip() == "removed 1 file(s) that no read refers to", err
    assert not orphan.exists() and fresh.exists() and store.files.path(kept.image_sha256 or "").exists()  # type: ignore[union-attr]
    assert run(env, "db", "sweep", "--grace-hours", "0")[0] == 2  # a usage error: 0 would race saves
    db.close()


@pytest.mark.parametrize("hours", ["nan", "inf", "-1"])
def test_sweep_grace_that_is_not_a_number_of_hours_is_a_usage_error(env: dict[str, str], hours: str) -> None:
    code, _, err = run(env, "db", "sweep", "--grace-hours", hours)
    assert code == 2 and "Invalid value for '--grace-hours'" in err, err


@pytest.mark.parametrize(("name", "got"), [("", ""), ("  ", ""), ("n" * 101, ", got 101")])
def test_token_names_that_are_empty_or_too_long_are_usage_errors(env: dict[str, str], name: str, got: str) -> None:
    code, out, err = run(env, "token", "create", name)
    assert code == 2 and out == ""
    assert "Invalid value for 'NAME': a token name must have 1 to 100 characters" + got in err
    assert run(env, "token", "list", "--json")[1].strip() == "[]"
    code, _, _ = run(env, "token", "create", "n" * 100)
    assert code == 0 and json.loads(run(env, "token", "list", "--json")[1])[0]["name"] == "n" * 100


def test_purge_with_more_days_than_the_calendar_holds(env: dict[str, str]) -> None:
    code, out, err = run(env, "db", "purge", "--days", "99999999999")
    assert code == 0 and out.startswith("deleted 0 read(s) older than 99999999999 day(s)"), err


def test_lookup_import_and_get_from_the_local_registry(env: dict[str, str], tmp_path: Path) -> None:
    csv = tmp_path / "vehicles.csv"
    csv.write_text("plate,country,make,model,year,fuel\nAB12CDE,gb,Ford,Focus,2019,Petrol\n")
    code, out, _ = run(env, "lookup", "import", str(csv))
    assert code == 0 and "1 vehicle(s) added" in out
    code, out, _ = run(env, "lookup", "ab12 cde", "--country", "gb")
    assert code == 0 and "Ford" in out and "Focus" in out and "2019" in out
    code, out, _ = run(env, "lookup", "AB12CDE", "--json")
    assert json.loads(out)["make"] == "Ford" and json.loads(out)["source"] == "local"
    code, _, err = run(env, "lookup", "ZZ99ZZZ")
    assert code == 1 and "LookupNotFound" in err


def test_lookup_errors(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("make\nFord\n")
    code, _, err = run(env, "lookup", "import", str(bad))
    assert code == 1 and "'plate' column" in err
    code, _, err = run(env, "lookup", "AB1", "--provider", "nosuch")
    assert code == 1 and "unknown provider" in err
    code, _, err = run(env, "lookup", "AB1", "--provider", "dvla")
    assert code == 1 and "dvla_api_key" in err


def test_read_with_lookup_prints_the_local_registry_vehicle(env: dict[str, str], tmp_path: Path,
                                                            data_dir: Path) -> None:
    csv = tmp_path / "vehicles.csv"
    csv.write_text("plate,make,model,colour\nCV58VP,Vauxhall,Corsa,Silver\n")
    assert run(env, "lookup", "import", str(csv))[0] == 0
    photo = str(data_dir / "detect" / "images" / "openlpr" / "10.jpg")  # the shipped models read CV58VP
    code, out, _ = run(env, "read", photo, "--json", "--lookup")
    plate = json.loads(out)["plates"][0]
    assert code == 0 and plate["text"] == "CV58VP"
    assert (plate["vehicle"]["make"], plate["vehicle"]["model"]) == ("Vauxhall", "Corsa")
    code, out, _ = run(env, "read", photo, "--json")
    assert json.loads(out)["plates"][0]["vehicle"] is None


def test_sweep_waits_for_a_sweep_another_process_is_running(env: dict[str, str]) -> None:
    instance = Path(env["NUMBERPLATE_INSTANCE_PATH"])
    db = Database(default_url(instance))
    db.migrate()
    files = ImageFiles(instance / "images")
    orphan = files.path(files.put(b"orphan"))
    hours_ago = utcnow().timestamp() - 3 * 3600
    os.utime(orphan, (hours_ago, hours_ago))
    held, still_there = threading.Event(), []

    def a_worker_sweeping() -> None:
        with ImageFiles(instance / "images").sweep_lock() as lock:
            assert lock is not None
            held.set()
            time.sleep(0.5)
            still_there.append(orphan.exists())

    worker = threading.Thread(target=a_worker_sweeping)
    worker.start()
    assert held.wait(10)
    code, out, err = run(env, "db", "sweep")
    worker.join()
    assert still_there == [True]  # not swept while the other held the lock ...
    assert code == 0 and out.strip() == "removed 1 file(s) that no read refers to", err  # ... but right after
    assert not orphan.exists()
    db.close()
