"""Exports API (asynchronous exports run by ``labelyard worker``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

# (method, paths, handler, request body model, summary), as API_ROUTES in labelyard.api.
EXPORT_ROUTES: Sequence[tuple[str, Sequence[str], Callable[..., Any], Any, str]] = ()
