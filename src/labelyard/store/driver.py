"""Statements that ``Database.fetch`` runs on the driver itself, in one call.

For the hottest reads (a page of a batch, one job, each joined to the caller's key) SQLAlchemy's
async layer costs more than the statement: a greenlet hand-off per call, a transaction begun and
committed around it (on PostgreSQL two more round trips), result-row objects. These statements
are plain SQL written once for both engines, with ``:name`` parameters; only columns whose values
the drivers hand back as they are (text, integers) may be selected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARAMETER = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """One SQL statement as sqlite3 (``:name``) and asyncpg (``$n``) take it."""

    sqlite: str
    postgresql: str
    names: tuple[str, ...]
    """The parameters in ``$1, $2, ...`` order."""


def statement(sql: str, *, sqlite: str | None = None) -> DriverStatement:
    """``sql`` with ``:name`` parameters, ready for either driver; ``sqlite``, where given, is
    the same query in the form SQLite's planner runs best."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    postgresql = _PARAMETER.sub(number, sql)
    return DriverStatement(
        sqlite=sql if sqlite is None else sqlite, postgresql=postgresql, names=tuple(names)
    )
