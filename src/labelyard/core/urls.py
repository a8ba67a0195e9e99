"""What an acceptable outbound URL looks like (before any resolving): http(s), a host, no
control characters."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000
HTTP_SCHEMES = ("http", "https")


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def has_control_chars(value: str) -> bool:
    """True if ``value`` holds a C0 control character (CR, LF, NUL, TAB...), DEL or a C1 one."""
    return _CONTROL.search(value) is not None


def url_problem(value: object) -> str | None:
    """Why ``value`` is not an http(s) URL the server may call, or None if it is one."""
    if not isinstance(value, str) or not value:
        return "the URL must be a non-empty string"
    if len(value) > MAX_URL_LENGTH:
        return f"the URL is longer than {MAX_URL_LENGTH} characters"
    if has_control_chars(value) or " " in value:
        return "the URL holds spaces or control characters (CR, LF...)"
    try:
        parts = urlsplit(value)
        port = parts.port  # raises for a port out of range
        host = parts.hostname or ""
        host.encode("idna")  # raises for labels no resolver will take
    except (ValueError, UnicodeError):
        return "the URL must have a valid host and port"
    if parts.scheme.lower() not in HTTP_SCHEMES:
        return "the URL must be http or https"
    if not host or port == 0:
        return "the URL must have a host"
    return None
