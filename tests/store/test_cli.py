"""`numberplate token`, `numberplate db` and `numberplate lookup` (local registry) on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from numberplate.cli import main


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
