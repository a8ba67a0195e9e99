"""Page tokens (API.md 3.5): opaque, URL-safe, bound to batch and query, tamper-evident."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labelyard.core.lifecycle import parse_statuses
from labelyard.core.pagination import (
    decode_token,
    encode_token,
    parse_limit,
    query_of,
)
from labelyard.errors import InvalidInput, InvalidPageToken

KEY = b"k" * 32
BATCH = "0b5e4a6c-1111-4222-8333-444455556666"
OTHER = "0b5e4a6c-1111-4222-8333-444455556667"


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_round_trip_and_url_safe(position: int) -> None:
    token = encode_token(KEY, batch_id=BATCH, query="status=", position=position)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert decode_token(KEY, token, batch_id=BATCH, query="status=") == position


def test_empty_token_is_the_first_page() -> None:
    assert decode_token(KEY, "", batch_id=BATCH, query="status=") == 0


@pytest.mark.parametrize(
    ("batch", "query", "key"),
    [(OTHER, "status=", KEY), (BATCH, "status=completed", KEY), (BATCH, "status=", b"x" * 32)],
)
def test_foreign_token_rejected(batch: str, query: str, key: bytes) -> None:
    token = encode_token(KEY, batch_id=BATCH, query="status=", position=100)
    with pytest.raises(InvalidPageToken):
        decode_token(key, token, batch_id=batch, query=query)


@given(st.data())
def test_any_single_character_change_is_rejected(data: st.DataObject) -> None:
    token = encode_token(KEY, batch_id=BATCH, query="status=", position=12345)
    i = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    new = data.draw(st.sampled_from(alphabet).filter(lambda c: c != token[i]))
    with pytest.raises(InvalidPageToken):
        decode_token(KEY, token[:i] + new + token[i + 1 :], batch_id=BATCH, query="status=")


@pytest.mark.parametrize("token", ["x", "!!!!", "a" * 65, "é", "AAAA", "100"])
def test_garbage_rejected(token: str) -> None:
    with pytest.raises(InvalidPageToken):
        decode_token(KEY, token, batch_id=BATCH, query="status=")


def test_limit_and_status_parsing() -> None:
    assert parse_limit(None) == 100
    assert parse_limit("1000") == 1000
    for bad in ("0", "1001", "-1", "ten"):
        with pytest.raises(InvalidInput):
            parse_limit(bad)
    assert parse_statuses("completed, created,completed") == ("completed", "created")
    assert parse_statuses(["created"]) == ("created",)
    assert parse_statuses(None) == () and parse_statuses("", default=("completed",)) == (
        "completed",
    )
    assert query_of(parse_statuses("created,completed")) == query_of(["completed", "created"])
    with pytest.raises(InvalidInput):
        parse_statuses("done")
