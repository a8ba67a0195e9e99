"""Secrets at rest: sealed under the server's secret key, generated once into the data dir."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from labelyard.bootstrap import SECRET_KEY_FILE, secret_key
from labelyard.config import Settings
from labelyard.services.secretbox import SecretBox, SecretUnreadable


def test_sealed_secrets_open_only_with_their_key() -> None:
    box = SecretBox("one")
    sealed = box.seal("client-secret")
    assert "client-secret" not in sealed and sealed != box.seal("client-secret")
    assert box.open(sealed) == "client-secret"
    with pytest.raises(SecretUnreadable):
        SecretBox("two").open(sealed)


def test_the_secret_key_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = secret_key(settings)
    assert secret_key(settings) == first
    mode = stat.S_IMODE((tmp_path / SECRET_KEY_FILE).stat().st_mode)
    assert mode == 0o600
    assert secret_key(Settings(data_dir=tmp_path, secret_key="given")) == "given"
