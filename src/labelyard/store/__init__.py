"""The only place labelyard speaks SQL (SQLAlchemy Core, async; SQLite and PostgreSQL; the
hottest reads as plain SQL on the driver, ``store.driver``)."""

from __future__ import annotations

from typing import Any, TypeAlias

from sqlalchemy import Row

Record: TypeAlias = Row[*tuple[Any, ...]]
"""A result row of any shape, read by column name."""
