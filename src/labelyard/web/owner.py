"""Owners' pages (placeholder while they are written)."""

ROUTES: tuple[tuple[str, str, object], ...] = ()
