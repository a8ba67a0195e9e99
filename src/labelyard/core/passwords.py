"""Password hashes for web sign-in: scrypt from the standard library, parameters in the hash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# scrypt cost: N=2**14, r=8, p=1 takes about 16 MiB and tens of milliseconds per check.
_N, _R, _P = 2**14, 8, 1
MIN_LENGTH = 8


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` for ``password``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str | None) -> bool:
    """True if ``password`` matches ``stored`` (a hash made by ``hash_password``)."""
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        given = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(given, expected)
