"""Many writers at once on one SQLite file, as gunicorn's worker processes and threads are: none fails."""

from __future__ import annotations

import threading
from pathlib import Path

from numberplate.store.db import Database
from numberplate.store.reads import ReadQuery, ReadStore
from numberplate.store.tokens import Tokens
from numberplate.types import BoundingBox, Detection, ImageResult, PlateRead, PlateText


def test_concurrent_api_calls_from_two_engines_all_commit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    first = Database(url)
    first.migrate()
    second = Database(url)  # another "worker process": its own engine and connections
    _, token = Tokens(first).create("load")
    result = ImageResult(100, 50, (PlateRead(Detection(BoundingBox(1, 2, 30, 12), 0.9), PlateText("AB1", 0.9)),), 1.0)
    errors: list[BaseException] = []

    def client(db: Database) -> None:
        tokens, reads = Tokens(db), ReadStore(db)
        try:
            for _ in range(15):
                tokens.count_call(token, None)  # read-then-write transactions, as every API call makes
                reads.save(result)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=client, args=(db,)) for db in (first, second) * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert ReadStore(first).search(ReadQuery()).total == 8 * 15
    assert Tokens(first).usage(token) == (8 * 15, None)
