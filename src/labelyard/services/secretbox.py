"""Secrets kept encrypted at rest (Fernet: AES-128-CBC and HMAC-SHA256), under the server's
secret key (``LABELYARD_SECRET_KEY``, or the one generated into the data dir)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from labelyard.errors import LabelyardError


class SecretUnreadable(LabelyardError):
    """A stored secret does not open with this server's key (the key changed)."""

    status = 500
    code = "api_error"
    default_message = "a stored secret cannot be read with this server's secret key"


class SecretBox:
    """Encrypts and decrypts short secrets with a key derived from the server's secret key."""

    def __init__(self, secret_key: str) -> None:
        digest = hashlib.sha256(b"labelyard secret box\n" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, plaintext: str) -> str:
        """The encrypted form of ``plaintext`` (ASCII, different each time)."""
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        """The plaintext of ``sealed``."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except InvalidToken:
            raise SecretUnreadable() from None
