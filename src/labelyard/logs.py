"""Logging: JSON lines (with the request id) or plain text, configured once at start."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from labelyard.http.observability import request_id

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

QUIET_LOGGERS = (
    "aiosqlite",
    "asyncpg",
    "sqlalchemy",
    "sqlalchemy.engine",
    "sqlalchemy.pool",
    "sqlalchemy.dialects",
    "sqlalchemy.orm",
    "alembic",
    "botocore",
    "boto3",
    "s3transfer",
    "urllib3",
    "aiobotocore",
    "httpx",
    "httpcore",
    "hpack",
    "multipart",
    "python_multipart",
)
"""Database drivers, SQL, storage and HTTP client libraries: held at WARNING whatever the level.
At DEBUG they log statement parameters (signing keys, webhook secrets, password hashes), signed
request headers and URLs; ``LABELYARD_LOG_LEVEL=debug`` is for labelyard's own loggers."""


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id.get()
        if rid:
            entry["request_id"] = rid
        entry |= {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure(level: str, fmt: str) -> None:
    """Send labelyard's (and uvicorn's) logs to stderr in ``fmt`` (``json`` or ``text``)."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # labelyard.access replaces it
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
