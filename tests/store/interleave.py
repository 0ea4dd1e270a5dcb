"""Forcing a race's interleaving: run another transaction's work just before a given SQL statement is sent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from numberplate.store.db import Database


@contextmanager
def before_statement(db: Database, prefix: str, meanwhile: Callable[[], object]) -> Iterator[list[str]]:
    """Call ``meanwhile()`` once, just before the first statement starting with ``prefix`` (case-insensitive) goes
    to ``db``; yields the statements it ran before (empty: it never ran).

    ``meanwhile`` runs in the calling thread but on its own connection, as another worker would: it commits
    before the statement it precedes. The statement's own transaction has then only read (SQLite begins a
    transaction at its first write), so ``meanwhile`` must not need a lock that transaction holds.
    """
    ran: list[str] = []

    def hook(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if ran or not statement.lstrip().upper().startswith(prefix.upper()):
            return
        ran.append(statement)
        meanwhile()

    event.listen(db.engine, "before_cursor_execute", hook)
    try:
        yield ran
    finally:
        event.remove(db.engine, "before_cursor_execute", hook)
