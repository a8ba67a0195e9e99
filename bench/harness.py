"""Start a real ``labelyard serve`` process on a fresh SQLite file or PostgreSQL database."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

PG_URL = os.environ.get("LABELYARD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass(frozen=True)
class Served:
    """A running server: where it is, its admin token and (``log()``) its stderr so far."""

    base_url: str
    admin_token: str
    env: dict[str, str]
    log: Callable[[], str]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg(url: str, sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def postgres_reachable() -> str | None:
    """None if PostgreSQL answers, else the reason it does not."""
    try:
        _pg(PG_URL, "SELECT 1")
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"{PG_URL}: {exc!r}"
    return None


@contextmanager
def database(backend: str) -> Iterator[dict[str, str]]:
    """Environment for a fresh database of ``backend`` (dropped afterwards)."""
    with tempfile.TemporaryDirectory(prefix="labelyard-bench-") as data_dir:
        env = {"LABELYARD_DATA_DIR": data_dir, "LABELYARD_ADMIN_TOKEN": secrets.token_urlsafe(16)}
        if backend == "sqlite":
            yield env
            return
        name = f"labelyard_bench_{os.getpid()}_{secrets.token_hex(3)}"
        _pg(PG_URL, f'CREATE DATABASE "{name}"')
        try:
            yield env | {"LABELYARD_DATABASE_URL": f"{PG_URL.rpartition('/')[0]}/{name}"}
        finally:
            _pg(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _labelyard() -> list[str]:
    """The ``labelyard`` console script of this interpreter's environment (``.venv/bin``)."""
    script = Path(sys.executable).parent / "labelyard"
    return [str(script)] if script.exists() else [sys.executable, "-m", "labelyard"]


@contextmanager
def serve(env: dict[str, str]) -> Iterator[Served]:
    """A ``labelyard serve`` process with ``env``, stopped afterwards (SIGTERM, then wait).

    The server's stderr goes to a file, not a pipe: nobody reads it while the benchmark runs, and
    a full pipe would stall the server. It is shown if the server fails to start.
    """
    port = free_port()
    full = {k: v for k, v in os.environ.items() if not k.startswith("LABELYARD_")} | env
    command = [*_labelyard(), "serve", "--port", str(port)]
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+") as stderr:

        def log() -> str:
            stderr.seek(0)
            return stderr.read()

        process = subprocess.Popen(command, env=full, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            deadline = time.monotonic() + 180  # a loaded machine starts slowly
            while True:
                try:
                    if httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start: {' '.join(command)}\n{log()}")
                time.sleep(0.1)
            token = env["LABELYARD_ADMIN_TOKEN"]
            yield Served(base_url=base_url, admin_token=token, env=full, log=log)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
