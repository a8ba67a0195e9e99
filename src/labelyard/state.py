"""What one labelyard process holds while it runs; built at start, passed to whoever needs it."""

from __future__ import annotations

from dataclasses import dataclass

from labelyard.config import Settings
from labelyard.store.engine import Database


@dataclass(frozen=True, slots=True)
class AppState:
    """Settings, the database, and the secrets every replica shares."""

    settings: Settings
    db: Database
    token_key: bytes
    admin_token: str
