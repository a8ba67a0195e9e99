"""First-start chores: the admin token and, on an empty database, a demo project."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from labelyard.config import Settings
from labelyard.core.audit import SYSTEM, Actor
from labelyard.datadir import prepare_data_dir
from labelyard.services import accounts, projects, workers
from labelyard.store import accounts as account_store
from labelyard.store.engine import Database

ADMIN_TOKEN_FILE = "admin_token"
SECRET_KEY_FILE = "secret_key"
DEMO_ACCOUNT = "demo"
DEMO_PROJECT = "Demo images"
DEMO_WORKER = "demo annotator"
FIRST_START = Actor(SYSTEM, "", "")


def ensure_admin_token(settings: Settings) -> tuple[str, bool]:
    """The admin token, and whether it was generated just now (to be shown once)."""
    if settings.admin_token:
        return settings.admin_token, False
    path = Path(settings.data_dir) / ADMIN_TOKEN_FILE
    if path.exists():
        return path.read_text().strip(), False
    prepare_data_dir(settings)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token, True


def secret_key(settings: Settings) -> str:
    """The key that encrypts secrets at rest: configured, or generated once into the data dir."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / SECRET_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    prepare_data_dir(settings)
    key = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of this data dir made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def admin_token(settings: Settings) -> str:
    """The admin token (generated and kept in the data dir if not configured)."""
    return ensure_admin_token(settings)[0]


@dataclass(frozen=True, slots=True)
class Demo:
    """What the first start made so a newcomer can call the API at once."""

    account_id: str
    project_id: str
    work_flow_id: str
    default_batch_id: str
    api_key: str
    worker_token: str


async def create_demo_if_empty(db: Database) -> Demo | None:
    """A demo account with an IMAGE project, if the database has no account yet."""
    async with db.read() as conn:
        if await account_store.any_account(conn):
            return None
    issued = await accounts.create_account(db, name=DEMO_ACCOUNT, actor=FIRST_START)
    created = await projects.create_project(
        db, name=DEMO_PROJECT, base="IMAGE", account_id=issued.account_id, actor=FIRST_START
    )
    worker = await workers.create_worker(
        db, account_id=issued.account_id, name=DEMO_WORKER, role="both", actor=FIRST_START
    )
    return Demo(
        account_id=issued.account_id,
        project_id=created["project_id"],
        work_flow_id=created["work_flow_id"],
        default_batch_id=created["default_batch_id"],
        api_key=created["api_key"],
        worker_token=worker["token"],
    )
