"""Who a request says it is, for the per-credential rate limits of ``http.edge.Edge``."""

from __future__ import annotations


def credential_of(headers: list[tuple[bytes, bytes]]) -> bytes:
    """Who a request says it is, normalised: the first ``x-api-key``, else the first
    ``Authorization`` header's token (``Bearer``/``bearer`` and spaces do not matter); b"" if
    none. Hashed by callers, never kept."""
    key = next((v for k, v in headers if k == b"x-api-key"), b"").strip()
    if key:
        return b"key:" + key
    authorization = next((v for k, v in headers if k == b"authorization"), b"").split()
    if len(authorization) == 2 and authorization[0].lower() == b"bearer":
        return b"bearer:" + authorization[1]
    return b"authorization:" + b" ".join(authorization) if authorization else b""
