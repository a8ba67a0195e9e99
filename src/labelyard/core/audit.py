"""The audit log's nouns: who acted (``Actor``) and a summary that never holds a secret.

An entry says who (the admin, an API key, a worker, or the command line), what (an action, the
target's kind and id, and a short summary of the change), when, and from which client address.
Summaries are built by the services from the fields they changed; ``redact`` is the last guard:
a value under a name that looks secret is replaced, at any depth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ADMIN, API_KEY, WORKER, COMMAND_LINE, SYSTEM = "admin", "api_key", "worker", "cli", "system"
OWNER = "owner"  # an owner signed on through the account's provider; id ``sso:<identity>``
ACTOR_KINDS = (ADMIN, API_KEY, OWNER, WORKER, COMMAND_LINE, SYSTEM)
REDACTED = "[redacted]"
_SECRET_WORDS = ("secret", "password", "token", "api_key", "key_hash", "authorization", "cookie")
MAX_SUMMARY_TEXT = 500


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did something: ``kind`` (one of ``ACTOR_KINDS``), the key or worker id ("" for the
    admin, the command line and the server itself), and the client address ("" off HTTP)."""

    kind: str
    id: str = ""
    address: str = ""


def secret_name(name: str) -> bool:
    """True for a field name whose value must never be written to the log."""
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def redact(value: Any) -> Any:
    """``value`` with every secret-looking field's value replaced and long text cut short."""
    if isinstance(value, Mapping):
        return {str(k): REDACTED if secret_name(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str) and len(value) > MAX_SUMMARY_TEXT:
        return value[:MAX_SUMMARY_TEXT] + "…"
    return value


def safe_url(url: object) -> str:
    """A URL as the log keeps it: no user, password, query or fragment (they may hold tokens)."""
    if not isinstance(url, str) or not url:
        return ""
    parsed = urlsplit(url)
    host = parsed.hostname or ""
    port = f":{parsed.port}" if parsed.port else ""
    return urlunsplit((parsed.scheme, host + port, parsed.path, "", ""))
