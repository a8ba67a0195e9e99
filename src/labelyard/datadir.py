"""The data directory: made private (0700), and the SQLite database in it readable by its
owner only (0600), whatever the umask. It holds the keys that sign sessions, page tokens and
file links, webhook secrets and password hashes."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from labelyard.config import Settings

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal", "-writer")  # -writer: write turns (store.engine)


def prepare_data_dir(settings: Settings) -> Path:
    """Create the data directory (0700) and the SQLite file (0600) if missing; tighten them if
    they exist with wider permissions (a deployment from before this rule)."""
    folder = Path(settings.data_dir)
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _tighten(folder)
    database = settings.sqlite_path()
    if database is not None:
        database.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        # SQLite makes its -wal and -shm files with the database file's permissions, so the
        # file is made first, 0600 (an empty file is an empty database).
        with contextlib.suppress(FileExistsError):
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        for suffix in SQLITE_SUFFIXES:
            _tighten(database.with_name(database.name + suffix))
    return folder


def _tighten(path: Path) -> None:
    """Drop the group's and others' permissions on ``path`` if it exists and is ours."""
    try:
        found = path.stat()
    except FileNotFoundError:
        return
    if found.st_uid == os.getuid() and found.st_mode & 0o077:
        path.chmod(found.st_mode & 0o700)
