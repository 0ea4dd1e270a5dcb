"""`numberplate lookup PLATE` against providers that answer badly: one line of error, valid JSON out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from numberplate.cli import main
from numberplate.types import VehicleInfo
from tests.lookup.servers import LocalServer, Reply


@pytest.fixture
def answers() -> Iterator[LocalServer]:
    """A provider server that answers what each test scripts (``{"ok": true}`` otherwise)."""
    with LocalServer(lambda request: Reply.json({"ok": True})) as server:
        yield server


@pytest.fixture
def env(tmp_path: Path, answers: LocalServer) -> dict[str, str]:
    return {
        "NUMBERPLATE_INSTANCE_PATH": str(tmp_path / "instance"),
        "NUMBERPLATE_CONFIG": "",
        "NUMBERPLATE_DVLA_API_KEY": "k",
        "NUMBERPLATE_DVLA_URL": answers.url,
        "NUMBERPLATE_LOOKUP_TIMEOUT": "2",
    }


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (Reply(200, b"[" * 100_000 + b"]" * 100_000), "body that is malformed (JSON nested too deeply"),
        (Reply(200, b'{"make": "' + b"A" * (2 * 1024 * 1024) + b'"}'), "with more than 1 MB"),
    ],
    ids=["deep", "huge"],
)
def test_a_malformed_answer_is_one_line_of_error(
    reply: Reply, why: str, env: dict[str, str], answers: LocalServer
) -> None:
    answers.then(reply)
    code, out, err = run(env, "lookup", "AB12CDE", "--provider", "dvla")
    assert code == 1 and out == ""
    assert err.startswith("Error: LookupUnavailable: dvla") and "answered HTTP 200" in err and why in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert len(answers.requests) == 1


def test_non_finite_numbers_come_out_as_null(env: dict[str, str], answers: LocalServer) -> None:
    answers.then(
        Reply(200, b'{"registrationNumber": "AB12CDE", "make": "FORD", "engineCapacity": NaN, "x": -Infinity}')
    )
    code, out, _ = run(env, "lookup", "AB12CDE", "--provider", "dvla", "--json")
    assert code == 0
    printed = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in the output"))
    assert printed["make"] == "FORD" and printed["raw"]["engineCapacity"] is None and printed["raw"]["x"] is None


def test_a_cached_payload_with_nan_still_prints_valid_json(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Stale:
        name = "stale"

        def lookup(self, plate: str, country: str | None = None) -> VehicleInfo:
            return VehicleInfo(plate, "dvla", make="FORD", raw={"a": float("nan"), "b": [float("inf"), 1.5]})

    monkeypatch.setattr("numberplate.lookup.create_lookup", lambda *args, **kwargs: Stale())
    code, out, _ = run(env, "lookup", "AB12CDE", "--json")
    assert code == 0
    assert json.loads(out)["raw"] == {"a": None, "b": [None, 1.5]}


def test_a_bug_in_a_provider_is_one_line_of_error(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    class Buggy:
        name = "buggy"

        def lookup(self, plate: str, country: str | None = None) -> VehicleInfo:
            raise KeyError("make")

    monkeypatch.setattr("numberplate.lookup.create_lookup", lambda *args, **kwargs: Buggy())
    code, out, err = run(env, "lookup", "AB12CDE")
    assert code == 1 and out == ""
    assert err == "Error: the lookup failed unexpectedly (KeyError: 'make'); please report this as a bug\n"


def test_answers_are_cached_as_for_reads(env: dict[str, str], answers: LocalServer) -> None:
    answers.then(
        Reply.json({"registrationNumber": "AB12CDE", "make": "FORD"}),
        Reply.json({"errors": [{"status": "404", "title": "Vehicle Not Found"}]}, 404),
    )
    for _ in range(2):
        code, out, _ = run(env, "lookup", "AB12CDE", "--provider", "dvla", "--json")
        assert code == 0 and json.loads(out)["make"] == "FORD"
        code, _, err = run(env, "lookup", "ZZ99ZZZ", "--provider", "dvla")
        assert code == 1 and "LookupNotFound" in err
    assert len(answers.requests) == 2  # each plate asked once; a paid provider is not charged twice
    code, _, _ = run({**env, "NUMBERPLATE_LOOKUP_CACHE_HOURS": "0"}, "lookup", "AB12CDE", "--provider", "dvla")
    assert code == 1 and len(answers.requests) == 3  # no cache: asked again (and {"ok": true} is no vehicle)
