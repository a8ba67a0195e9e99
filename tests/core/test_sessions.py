"""Web sessions and password hashes: what a forged, stale or foreign value gets."""

from __future__ import annotations

from labelyard.core import sessions
from labelyard.core.passwords import hash_password, verify_password
from labelyard.core.sessions import OWNER, WORKER

KEY = b"k" * 32


def test_a_session_reads_back_until_it_expires() -> None:
    session = sessions.new_session(WORKER, subject="w1", account_id="a1", now=1000, ttl=60)
    value = sessions.encode(KEY, session)
    assert sessions.decode(KEY, value, now=1059) == session
    assert sessions.decode(KEY, value, now=1061) is None


def test_forged_or_foreign_cookies_are_not_sessions() -> None:
    value = sessions.encode(KEY, sessions.new_session(OWNER, subject="k1", now=0, ttl=60))
    body, mac = value.split(".")
    other = sessions.encode(KEY, sessions.new_session(OWNER, subject="k2", now=0, ttl=60))
    for forged in (
        f"{other.split('.')[0]}.{mac}",  # another body under this signature
        f"{body}.{mac[:-2]}AA",
        value + "x",
        "garbage",
        "a.b",
        "",
        None,
    ):
        assert sessions.decode(KEY, forged, now=1) is None
    assert sessions.decode(b"x" * 32, value, now=1) is None  # signed under another key


def test_each_session_has_its_own_csrf_token() -> None:
    one = sessions.new_session(WORKER, subject="w", now=0, ttl=60)
    two = sessions.new_session(WORKER, subject="w", now=0, ttl=60)
    token = sessions.csrf_token(KEY, one)
    assert sessions.csrf_valid(KEY, one, token)
    assert not sessions.csrf_valid(KEY, two, token)
    assert not sessions.csrf_valid(KEY, one, None)
    assert not sessions.csrf_valid(KEY, one, "")
    assert not sessions.csrf_valid(KEY, one, token[:-1])


def test_password_hashes_are_salted_and_checked() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$") and "correct" not in stored
    assert hash_password("correct horse") != stored
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsE", stored)
    assert not verify_password("correct horse", None)
    assert not verify_password("correct horse", "scrypt$bad")
    assert not verify_password("correct horse", "md5$1$2$3$4$5")
