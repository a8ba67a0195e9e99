"""The data directory is private (0700) and the database and admin token files 0600, whatever
the umask: they hold the keys that sign sessions, webhook secrets and password hashes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from labelyard.bootstrap import ensure_admin_token
from labelyard.config import Settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _labelyard(data: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELYARD_")}
    env["LABELYARD_DATA_DIR"] = str(data)
    done = subprocess.run(
        [sys.executable, "-m", "labelyard", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert done.returncode == 0, done.stderr


def test_a_new_data_dir_is_private(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "data"
    _labelyard(data, "migrate")
    assert _mode(data) == 0o700
    files = sorted(data.glob("labelyard.db*"))
    assert files and all(_mode(f) == 0o600 for f in files), [(f.name, oct(_mode(f))) for f in files]
    token, made = ensure_admin_token(Settings(data_dir=data))
    assert made and _mode(data / "admin_token") == 0o600 and token


def test_an_existing_data_dir_is_tightened(tmp_path: Path) -> None:
    data = tmp_path / "old"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    (data / "labelyard.db").touch()
    (data / "labelyard.db").chmod(0o644)
    _labelyard(data, "migrate")
    assert _mode(data) == 0o700
    assert _mode(data / "labelyard.db") == 0o600
