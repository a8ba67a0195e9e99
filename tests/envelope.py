"""Checks every JSON response of the suite against API.md section 1's rules on ``data`` keys."""

from __future__ import annotations

import keyword
from typing import Any

import httpx


def bad_keys(value: Any, path: str = "data") -> list[str]:
    """Paths of keys inside ``value`` that the SDK cannot turn into namedtuple fields."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}"
            if (
                not isinstance(key, str)
                or not key.isidentifier()
                or keyword.iskeyword(key)
                or key.startswith("_")
            ):
                found.append(where)
            found.extend(bad_keys(item, where))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(bad_keys(item, f"{path}[{i}]"))
    return found


SEEN: list[str] = []
"""Every request whose response body was checked (the key-walk test asserts it is not empty)."""


def check_response(response: httpx.Response) -> None:
    """httpx response hook: envelope responses must keep ``data`` keys SDK-safe."""
    response.read()
    if response.request.method == "HEAD":
        return  # headers only
    if not response.headers.get("content-type", "").startswith("application/json"):
        return
    body = response.json()
    if not isinstance(body, dict) or "success" not in body:
        return
    if response.request.url.path.startswith("/work/") and body["success"]:
        # The worker API is not the SDK's: its data carries annotation bodies (with "_id").
        return
    SEEN.append(f"{response.request.method} {response.request.url.path}")
    problems = bad_keys(body.get("data"))
    assert not problems, f"{response.request.url}: keys unusable by the SDK: {problems}"
    if body["success"] is False:
        assert set(body["error"]) == {"code", "message"}, body
        assert "Traceback" not in body["error"]["message"]
