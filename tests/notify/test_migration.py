"""Migration 0006: the webhook outbox table is added beside an existing history, and dropped by a downgrade."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from numberplate.store.db import Database
from numberplate.store.reads import ReadQuery, ReadStore
from tests.notify.conftest import result, save_alert, store_with
from tests.store.conftest import alembic_version, downgrade, empty_database


@pytest.fixture(params=["sqlite", "postgresql"])
def db_at_0005(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = empty_database(request, tmp_path, "0005")
    yield database
    database.close()




def test_upgrade_adds_the_outbox_and_keeps_the_history(db_at_0005: Database) -> None:
    db = db_at_0005
    assert "webhook_deliveries" not in db.tables()
    old = ReadStore(db).save(result("AB12CDE"))
    db.migrate()
    assert alembic_version(db) == "0006" and "webhook_deliveries" in db.tables()
    assert ReadStore(db).get(old.id) == old
    indexes = {i["name"] for i in inspect(db.engine).get_indexes("webhook_deliveries")}
    assert {"ix_webhook_deliveries_due", "ix_webhook_deliveries_read_id"} <= indexes
    saved = save_alert(store_with(db, ["http://127.0.0.1:9/"]))
    assert saved.id > old.id
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM webhook_deliveries")).scalar() == 1
    ReadStore(db).delete(saved.id)  # the foreign key cascades on the migrated table too
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM webhook_deliveries")).scalar() == 0


def test_downgrade_drops_the_outbox_and_upgrade_brings_it_back(db_at_0005: Database) -> None:
    db = db_at_0005
    db.migrate()
    save_alert(store_with(db, ["http://127.0.0.1:9/"]))
    downgrade(db, "0005")
    assert alembic_version(db) == "0005" and "webhook_deliveries" not in db.tables()
    assert ReadStore(db).search(ReadQuery()).total == 1
    db.migrate()
    assert alembic_version(db) == "0006" and "webhook_deliveries" in db.tables()
