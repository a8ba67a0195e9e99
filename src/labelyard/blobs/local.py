"""Blobs as files in a local directory (the default; one machine or a shared volume)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno
import os
import secrets
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from labelyard.blobs import FILES_PREFIX, BlobNotFound
from labelyard.core import signing
from labelyard.errors import InvalidInput


class LocalBlobStore:
    """Files under ``root``; writes go to a temporary file that is renamed into place."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not key or path == self.root or self.root not in path.parents:
            raise InvalidInput("invalid file key")
        return path

    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` atomically (the path is resolved on the thread too:
        a few ``lstat`` calls that would otherwise hold the event loop)."""
        await asyncio.to_thread(lambda: _write_atomically(self._path(key), data))

    async def get(self, key: str) -> bytes:
        """The bytes under ``key``."""
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise BlobNotFound() from None

    async def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    def private_url(self, key: str, *, base_url: str) -> str:
        """``{base_url}/files/{key}``, served by labelyard to holders of a signed link."""
        return f"{base_url}{FILES_PREFIX}{key}"

    def key_from_url(self, url: str, *, base_url: str) -> str | None:
        """The key of a ``/files/`` URL of this server."""
        prefix = base_url + FILES_PREFIX
        return url[len(prefix) :] if url.startswith(prefix) else None

    def signed_link(self, key: str, *, base_url: str, file_key: bytes, ttl: int, now: int) -> str:
        """The ``/files/`` URL with an HMAC signature and expiry."""
        path = FILES_PREFIX + key
        return f"{base_url}{path}?{signing.signed_query(file_key, path, now=now, ttl=ttl)}"

    def local_path(self, key: str) -> Path | None:
        """The file itself."""
        return self._path(key)

    async def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Store each ``(key, data)``, each atomically as ``put`` does, in one thread hop and
        one flush to disk for them all (a page of results written by one transaction)."""
        await asyncio.to_thread(lambda: _write_all(self._paths(items)))

    def _paths(self, items: Sequence[tuple[str, bytes]]) -> list[tuple[Path, bytes]]:
        """``_path`` of each key, a folder resolved once for the files in it."""
        folders: dict[str, Path] = {}
        out = []
        for key, data in items:
            folder, _, name = key.rpartition("/")
            if not folder or name in ("", ".", ".."):
                out.append((self._path(key), data))
                continue
            if folder not in folders:
                folders[folder] = self._path(folder)
            out.append((folders[folder] / name, data))
        return out

    async def put_file(self, key: str, path: Path) -> None:
        """Move the file at ``path`` under ``key`` atomically (copied across file systems)."""
        target = self._path(key)
        await asyncio.to_thread(_move_atomically, Path(path), target)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_OPEN_AT_ONCE = 256  # files held open between their write and the flush (well under ulimit)
_FSYNCS_AT_ONCE = 16
_fsyncs: dict[int, concurrent.futures.ThreadPoolExecutor] = {}  # by process (a fork makes its own)


def _flush(fds: list[int]) -> None:
    """The files of ``fds`` on disk: each ``fsync``ed, ``_FSYNCS_AT_ONCE`` side by side (they
    share the file system's journal commits)."""
    if len(fds) == 1:
        os.fsync(fds[0])
        return
    pool = _fsyncs.get(os.getpid())
    if pool is None:
        pool = concurrent.futures.ThreadPoolExecutor(_FSYNCS_AT_ONCE, "labelyard-fsync")
        _fsyncs.clear()
        _fsyncs[os.getpid()] = pool
    groups = [fds[i::_FSYNCS_AT_ONCE] for i in range(min(len(fds), _FSYNCS_AT_ONCE))]
    list(pool.map(_fsync_each, groups))


def _fsync_each(fds: list[int]) -> None:
    for fd in fds:
        os.fsync(fd)


def _write_all(items: Sequence[tuple[Path, bytes]]) -> None:
    """Each file to a temporary name beside it, all flushed to disk, then each renamed into
    place: as ``_write_atomically``, for many, in one thread hop."""
    for start in range(0, len(items), _OPEN_AT_ONCE):
        chunk = items[start : start + _OPEN_AT_ONCE]
        opened: list[int] = []
        made: list[tuple[str, str]] = []
        parents: set[str] = set()
        # The temporary names of the chunk from one read of random bytes: ``mkstemp``'s own
        # name drawing and path handling cost more than the write itself (a list call writes
        # a page of results while its transaction holds the database).
        names = secrets.token_bytes(_TMP_NAME_BYTES * len(chunk)).hex()
        try:
            for index, (path, data) in enumerate(chunk):
                target = os.fspath(path)
                parent = target.rpartition("/")[0]
                if parent not in parents:
                    os.makedirs(parent, exist_ok=True)
                    parents.add(parent)
                at = 2 * _TMP_NAME_BYTES * index
                fd, tmp = _create_beside(parent, names[at : at + 2 * _TMP_NAME_BYTES])
                opened.append(fd)
                made.append((tmp, target))
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            _flush(opened)
            while opened:
                os.close(opened.pop())
            while made:
                tmp, target = made[-1]
                os.replace(tmp, target)
                made.pop()
        except BaseException:
            for fd in opened:
                with contextlib.suppress(OSError):
                    os.close(fd)
            for tmp, _ in made:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            raise


_TMP_NAME_BYTES = 8
# As ``mkstemp`` opens its files: new (never an existing file or a link), private.
_TMP_FLAGS = (
    os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
)


def _create_beside(parent: str, name: str) -> tuple[int, str]:
    """A new file ``parent/.tmp-<name>`` opened for writing (mode 0600), and its path; a name
    already taken (a leftover of a crash) falls back to ``mkstemp``'s drawing."""
    tmp = f"{parent}/.tmp-{name}"
    try:
        return os.open(tmp, _TMP_FLAGS, 0o600), tmp
    except FileExistsError:
        return tempfile.mkstemp(dir=parent, prefix=".tmp-")


def _move_atomically(source: Path, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as handle:
        os.fsync(handle.fileno())
    try:
        os.replace(source, path)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    # Another file system: copy next to the target, then rename into place.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle, source.open("rb") as original:
            shutil.copyfileobj(original, handle, 1024 * 1024)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    source.unlink(missing_ok=True)
