"""The one exception of the client, and where foreign failures become it.

    LabelyardError                      (code, message, status)
        code "<API code>"               the server answered an error envelope (API.md 1)
        code "connection_error"         no answer: connect failure, timeout, dropped connection
        code "invalid_response"         an answer that is not the API's (a proxy's page, bad JSON)

``httpx`` errors and error answers are translated here, by ``translate`` and ``error_of``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

CONNECTION_ERROR = "connection_error"
INVALID_RESPONSE = "invalid_response"


class LabelyardError(Exception):
    """A call failed: ``code`` and ``message`` from the server, ``status`` its HTTP status.

    ``status`` is None when no HTTP answer came at all (``code == "connection_error"``).
    """

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        self.code = code
        self.message = message
        self.status = status
        super().__init__(f"{code}: {message}" if status is None else f"{status} {code}: {message}")


def translate(exc: httpx.HTTPError) -> LabelyardError:
    """Our error for an httpx one: no answer came, or not one that can be read."""
    code = CONNECTION_ERROR if isinstance(exc, httpx.TransportError) else INVALID_RESPONSE
    return LabelyardError(code, str(exc) or type(exc).__name__)


@contextmanager
def translated() -> Iterator[None]:
    """Raise httpx errors of the block as ``LabelyardError``."""
    try:
        yield
    except httpx.HTTPError as exc:
        raise translate(exc) from exc


def error_of(response: httpx.Response) -> LabelyardError:
    """The error an unsuccessful (already read) answer reports: its envelope's, if it has one."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and "code" in error:
        message = str(error.get("message", ""))
        return LabelyardError(str(error["code"]), message, response.status_code)
    text = response.text[:200].strip() or response.reason_phrase
    return LabelyardError(INVALID_RESPONSE, text, response.status_code)
