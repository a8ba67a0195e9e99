"""What one labelyard process holds while it runs; built at start, passed to whoever needs it."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from labelyard.blobs import BlobStore
from labelyard.config import Settings
from labelyard.outbound import Outbound
from labelyard.secretbox import SecretBox
from labelyard.services.jobs import CreateGroups
from labelyard.services.media import MediaSigner
from labelyard.services.signin import Passwords
from labelyard.store.engine import Database


@dataclass(frozen=True, slots=True)
class AppState:
    """Settings, the database, the blob store, and the secrets every replica shares."""

    settings: Settings
    db: Database
    blobs: BlobStore
    token_key: bytes
    file_key: bytes
    session_key: bytes
    admin_token: str
    outbound: Outbound
    """The one client for calls to URLs clients give (``labelyard.outbound``)."""
    media: MediaSigner
    """Presigns private-bucket media for the web UI (holds the server's secret box)."""
    box: SecretBox
    """Seals and opens secrets kept at rest (webhook signing secrets, storage credentials)."""
    passwords: Passwords = field(default_factory=Passwords)
    """Web sign-in by password, with this process's throttles."""
    creates: CreateGroups = field(default_factory=CreateGroups)
    """This process's single job creates, grouped into shared write transactions."""
    rng: random.Random = field(default_factory=random.Random)
    """The draws of gold mixing and review sampling (seeded by ``Settings.random_seed``)."""

    @property
    def base_url(self) -> str:
        """The public base URL of this deployment."""
        return self.settings.resolved_public_base_url()
