"""One typed settings object, read from ``LABELYARD_*`` environment variables once at start."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
DEFAULT_PORT = 8080
DEFAULT_LEASE_SECONDS = 15 * 60
DEFAULT_FILE_LINK_SECONDS = 5 * 60
DEFAULT_MEDIA_LINK_SECONDS = 60 * 60


class Settings(BaseSettings):
    """Everything labelyard can be told; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="LABELYARD_", extra="ignore")

    data_dir: Path = Field(default=Path("labelyard-data"))
    """Where the SQLite database, the admin token and local blobs live."""

    database_url: str = ""
    """``postgresql://...`` for PostgreSQL; empty means SQLite at ``data_dir/labelyard.db``."""

    admin_token: str = ""
    """Bearer token for ``/admin/v1``; empty means generated once and kept in ``data_dir``."""

    secret_key: str = ""
    """Fernet key encrypting stored secrets (storage connections, single sign-on client
    secrets); empty means generated once and kept in ``data_dir/secret_key``. Give every replica
    and worker the same value."""

    public_base_url: str = ""
    """How clients reach this server (used in result links); empty means ``http://host:port``."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    db_pool_size: int = 10
    workers: int = 0
    """Server processes ``serve`` runs on one port; 0 means one per CPU core."""

    log_level: str = "info"

    log_format: str = "json"
    """``json`` (one object a line, with the request id) or ``text``."""

    trusted_proxies: str = ""
    """Comma-separated addresses or CIDRs of reverse proxies whose ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` are believed; empty: none (the peer address is the client's)."""

    rate_limit_per_second: float = 0.0
    """Requests a second allowed per API key or token, per process; 0 turns limiting off."""

    rate_limit_burst: int = 100
    """Requests a key may send at once before the per-second rate applies."""

    auth_failures_burst: int = 100
    """Failed authentications (401 answers to a request with a key or token) one client address
    may have at once before ``auth_failures_per_minute`` applies (then 429)."""

    auth_failures_per_minute: float = 30.0
    """Failed authentications a minute allowed per client address after the burst; 0 is off."""

    blob_dir: Path | None = None
    """Where results are kept; default ``data_dir/blobs``."""

    blob_url: str = ""
    """``s3://bucket/prefix`` to keep results and exports in an S3-compatible store."""

    s3_endpoint_url: str = ""
    """The store's endpoint (MinIO, Ceph...); empty for AWS S3."""

    s3_region: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""

    web_session_hours: int = 12
    """How long a web UI sign-in lasts."""

    lease_seconds: int = DEFAULT_LEASE_SECONDS
    """How long a claimed job stays with its worker without a heartbeat."""

    random_seed: int | None = None
    """Seed of the generator behind gold mixing and review sampling (None: from the system)."""

    file_link_seconds: int = DEFAULT_FILE_LINK_SECONDS
    """How long a signed ``/files/...`` link from ``/v1/attachments`` stays valid."""

    media_link_seconds: int = DEFAULT_MEDIA_LINK_SECONDS
    """How long a presigned link to private-bucket media, handed to the web UI, stays valid."""

    webhook_max_attempts: int = 8
    """Deliveries of one event to one endpoint, the first included, before giving up."""

    webhook_retry_base_seconds: float = 60.0
    """First retry delay; each next one is 3 times longer, with jitter (8 attempts ≈ 18 h)."""

    webhook_timeout_seconds: float = 10.0
    """How long a receiver may take to answer one delivery."""

    webhook_disable_after_seconds: float = 3 * 24 * 3600
    """An endpoint failing continuously for this long is disabled."""

    outbound_allow: str = ""
    """Comma-separated hosts or CIDRs the server may call although they are private (webhook
    receivers, image hosts on premises); the cloud metadata address is never called."""

    webhooks_allow_private: bool = False
    """Deprecated: ``true`` adds loopback and the private ranges to ``outbound_allow``."""

    export_lock_seconds: float = 300.0
    """How long a worker holds an export between progress updates; a dead worker's export is
    started again by another once this has passed."""

    point_cloud_max_bytes: int = 1024 * 1024 * 1024
    """The largest lidar file (PCD or .bin) the worker fetches for the 3D editor."""

    point_cloud_timeout_seconds: float = 120.0
    """How long fetching one lidar file may take."""

    point_cloud_lock_seconds: float = 300.0
    """How long a worker holds a point cloud it converts; another takes it over after that."""

    point_cloud_max_attempts: int = 5
    """Fetches of one lidar file, the first included, before its job gets a media error."""

    media_checks: bool = True
    """Let ``labelyard worker`` read every new job's media and hold back jobs whose media fail."""

    media_check_concurrency: int = 16
    """Media reads a worker has in flight at once."""

    media_check_per_host_per_second: float = 50.0
    """Media reads a second a worker sends to one host (stores limit rates per host); 0: no
    limit."""

    media_check_timeout_seconds: float = 10.0
    """How long one media read may take."""

    media_check_max_attempts: int = 4
    """Checks of a job whose store answers with errors (timeouts, 5xx, 429) before failing it."""

    media_check_retry_base_seconds: float = 30.0
    """First delay before checking such a job again; each next one is 4 times longer."""

    media_check_max_urls: int = 50
    """Media URLs read per job at most (spread over its frames, first and last included)."""

    worker_poll_seconds: float = 1.0
    """How often an idle ``labelyard worker`` looks for work."""

    def trusted_proxy_list(self) -> list[str]:
        """``trusted_proxies`` as a list (empty: forwarded headers are ignored)."""
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    def resolved_blob_dir(self) -> Path:
        """The local blob directory."""
        return self.blob_dir or self.data_dir / "blobs"

    def resolved_database_url(self) -> str:
        """The SQLAlchemy async URL for the configured database."""
        url = self.database_url
        if not url:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'labelyard.db').resolve()}"
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                # libpq's sslmode= is asyncpg's ssl= (same values: disable, require, ...).
                rest = url[len(prefix) :].replace("sslmode=", "ssl=")
                return "postgresql+asyncpg://" + rest
        if url.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
        return url

    def sqlite_path(self) -> Path | None:
        """The SQLite database file, or None on PostgreSQL."""
        if not self.database_url:
            return self.data_dir / "labelyard.db"
        for prefix in ("sqlite:///", "sqlite+aiosqlite:///"):
            if self.database_url.startswith(prefix):
                return Path(self.database_url[len(prefix) :].split("?", 1)[0])
        return None

    def resolved_public_base_url(self) -> str:
        """Base URL put in links handed to clients, without a trailing slash."""
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        return f"http://{self.host}:{self.port}"
