"""Single sign-on rules: the admin's config, identities from claims, the pending cookie."""

from __future__ import annotations

import pytest

from labelyard.core import sso
from labelyard.errors import InvalidInput, MissingParameter

KEY = b"k" * 32
BASE = {"issuer": "https://id.example/", "client_id": "c", "client_secret": "s"}


def test_config_folds_owner_emails_and_trims_the_issuer() -> None:
    config, secret = sso.parse_config({**BASE, "owners": ["A@B.example"]})
    assert config.issuer == "https://id.example" and config.owners == ("a@b.example",)
    assert secret == "s" and config.match == "email"


@pytest.mark.parametrize(
    "body",
    [
        {**BASE, "issuer": "ftp://id.example"},
        {**BASE, "issuer": "https://id.example/?x=1"},
        {**BASE, "match": "name"},
        {**BASE, "owners": "a@b"},
        {**BASE, "client_secret": ""},
        {"issuer": "https://id.example"},
        [],
    ],
)
def test_bad_configs_are_refused(body: object) -> None:
    with pytest.raises((InvalidInput, MissingParameter)):
        sso.parse_config(body)


def test_identities_from_claims() -> None:
    assert sso.identity_of({"email": "X@Y.example", "sub": "1"}, "email") == "x@y.example"
    assert sso.identity_of({"email": "x@y", "email_verified": False}, "email") is None
    assert sso.identity_of({"sub": "1"}, "email") is None
    assert sso.identity_of({"sub": "1"}, "subject") == "1"


def test_the_pending_cookie_is_signed_and_expires() -> None:
    pending = sso.Pending("acct", "worker", "st", "no", "ver", expires=100)
    value = sso.seal_pending(KEY, pending)
    assert sso.open_pending(KEY, value, now=99) == pending
    assert sso.open_pending(KEY, value, now=100) is None
    assert sso.open_pending(b"x" * 32, value, now=99) is None
    body, mac = value.split(".")
    assert sso.open_pending(KEY, body[:-2] + "AA." + mac, now=99) is None
    assert sso.open_pending(KEY, "garbage", now=99) is None
