"""Secrets kept at rest encrypted (Fernet: AES-128-CBC + HMAC-SHA256) with the server's key.

The key comes from ``LABELYARD_SECRET_KEY``; unset, one is generated on first use and kept in
``data_dir/secret_key`` (mode 0600), like the admin token. Every replica and worker must hold the
same key: set ``LABELYARD_SECRET_KEY`` when they do not share a data directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from labelyard.config import Settings
from labelyard.errors import ServerFault

SECRET_KEY_FILE = "secret_key"


class SecretBox:
    """Seals and opens short secrets (storage credentials) with one key."""

    def __init__(self, key: str | bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise ServerFault(
                "LABELYARD_SECRET_KEY must be 32 url-safe base64-encoded bytes "
                "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())')"
            ) from None

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def seal(self, plaintext: str) -> str:
        """The encrypted form of ``plaintext``, as text fit for a database column."""
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        """The plaintext of a sealed secret; ``ServerFault`` if another key sealed it."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except InvalidToken:
            raise ServerFault(
                "a stored secret cannot be decrypted with this server's secret key "
                "(is LABELYARD_SECRET_KEY the same on every replica and worker?)"
            ) from None


def secret_key(settings: Settings) -> str:
    """The configured key, or the one generated once and kept in the data dir."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / SECRET_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode("ascii")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of this data dir made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def secret_box(settings: Settings) -> SecretBox:
    """The server's ``SecretBox``."""
    return SecretBox(secret_key(settings))
