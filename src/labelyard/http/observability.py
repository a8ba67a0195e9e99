"""Request ids and security headers (applied by ``http.edge.Edge``)."""

from __future__ import annotations

import re
from contextvars import ContextVar

REQUEST_ID_HEADER = b"x-request-id"
SAFE_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)

request_id: ContextVar[str] = ContextVar("request_id", default="")
