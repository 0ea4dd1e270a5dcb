"""Images and crops on disk, content-addressed: a file's name is the SHA-256 of its bytes."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from numberplate.errors import StoreError

if sys.platform != "win32":
    import fcntl

log = logging.getLogger(__name__)

_SHA256 = re.compile(r"[0-9a-f]{64}")
_LEVEL = re.compile(r"[0-9a-f]{2}")
_TEMPORARY = re.compile(r"\.[0-9a-f]{64}\.[0-9a-f]+\.tmp")


@dataclass(frozen=True)
class OldFile:
    """A file of the images folder last written before a sweep's cutoff (see :meth:`ImageFiles.written_before`)."""

    path: Path
    sha256: str | None
    """The blob's SHA-256; None for the temporary file of a write that never finished."""


class SweepLock:
    """The sweep lock of an images folder, held (see :meth:`ImageFiles.sweep_lock`); it keeps when the last sweep
    finished, for the holders to come."""

    def __init__(self, fd: int | None):
        self._fd = fd

    @property
    def last_finished(self) -> float | None:
        """When the last sweep that called :meth:`finished` did so (a POSIX time); None: never, or unknown."""
        if self._fd is None:
            return None
        try:
            os.lseek(self._fd, 0, os.SEEK_SET)
            return float(os.read(self._fd, 32).decode("ascii"))
        except (OSError, ValueError):  # an empty file: no sweep yet
            return None

    def finished(self) -> None:
        """Record that a sweep finished now (never raises: the record only spares work)."""
        if self._fd is None:
            return
        stamp = f"{time.time():.3f}".encode("ascii")
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
            os.lseek(self._fd, 0, os.SEEK_SET)
            os.write(self._fd, stamp)


class ImageFiles:
    """Stores blobs under ``root/ab/cd/<sha256>.jpg``; the same bytes are stored once.

    Writes are atomic (a temporary file renamed into place), so a killed process never leaves a
    half-written image under a real name.
    """

    suffix = ".jpg"

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Where the blob ``sha256`` lives (whether or not it exists).

        Raises:
            StoreError: ``sha256`` is not 64 lower-case hex digits (so no name can escape the folder).
        """
        if not _SHA256.fullmatch(sha256):
            raise StoreError(f"not an image id: {sha256[:80]!r}")
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}{self.suffix}"

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its SHA-256 (hex).

        Raises:
            StoreError: the folder is not writable or the disk is full.
        """
        sha = hashlib.sha256(data).hexdigest()
        self.ensure(sha, data)
        return sha

    def ensure(self, sha256: str, data: bytes) -> None:
        """Write ``data`` (whose SHA-256 is ``sha256``) as that blob unless the file is already there.

        Raises:
            StoreError: ``sha256`` is not a blob name, the folder is not writable or the disk is full.
        """
        path = self.path(sha256)
        if path.exists():
            return
        tmp = path.with_name(f".{sha256}.{secrets.token_hex(4)}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as e:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise StoreError(f"cannot write image file under {self.root}: {e.strerror or e}") from e

    def get(self, sha256: str) -> bytes | None:
        """The blob's bytes, or None when it is not stored (or ``sha256`` is not a blob name at all).

        Raises:
            StoreError: the file is there but cannot be read.
        """
        if not _SHA256.fullmatch(sha256):
            return None
        path = self.path(sha256)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise StoreError(f"cannot read the image file {path}: {e.strerror or e}") from e

    def delete(self, sha256: str) -> bool:
        """Remove a blob; True when this call removed it, False when it was already gone.

        Raises:
            StoreError: the file is there but cannot be removed (a read-only folder, a directory in its place).
        """
        path = self.path(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as e:
            raise StoreError(
                f"cannot remove the image file {path}: {e.strerror or e}; make {self.root} writable by the user "
                "numberplate runs as"
            ) from e
        return True

    def written_before(self, cutoff: float) -> Iterator[OldFile]:
        """Every file of ours last written before ``cutoff`` (a POSIX time): blobs and the temporary files of writes
        that never finished (a killed process), folder by folder, in one walk of the folder.

        Only names this class writes are listed: anything else in the folder is never touched.

        Raises:
            StoreError: the folder cannot be listed.
        """
        for folder in self._folders():
            for entry in self._entries(folder):
                if _TEMPORARY.fullmatch(entry.name):
                    if _older(entry, cutoff):
                        yield OldFile(Path(entry.path), None)
                    continue
                sha = entry.name.removesuffix(self.suffix)
                in_place = _SHA256.fullmatch(sha) is not None and self.path(sha) == folder / entry.name
                if entry.name.endswith(self.suffix) and in_place and _older(entry, cutoff):
                    yield OldFile(Path(entry.path), sha)

    def remove_temporary(self, old: OldFile) -> bool:
        """Remove an unfinished write's temporary file that :meth:`written_before` listed; True when this call
        removed it, False when it was gone already.

        Raises:
            StoreError: ``old`` is a blob, or the file cannot be removed.
        """
        if old.sha256 is not None or not _TEMPORARY.fullmatch(old.path.name):
            raise StoreError(f"not an unfinished image file: {old.path}")
        try:
            old.path.unlink()
        except FileNotFoundError:
            return False
        except OSError as e:
            raise StoreError(f"cannot remove the unfinished image file {old.path}: {e.strerror or e}") from e
        return True

    @property
    def sweep_lock_path(self) -> Path:
        """The lock file of :meth:`sweep_lock`: beside the folder (``instance/images.sweep.lock``), not in it."""
        return self.root.with_name(f"{self.root.name}.sweep.lock")

    @contextmanager
    def sweep_lock(self, wait: bool = False) -> Iterator[SweepLock | None]:
        """Hold, for the block, the lock that lets one process (or thread) at a time sweep this folder.

        An exclusive ``flock`` of :attr:`sweep_lock_path`: the system releases it when its holder ends, even
        killed, so a crashed sweep never blocks the next one. Sweeps need it only to spare the work: two at once
        remove the same files safely. So where it cannot be taken (no ``fcntl`` on Windows, a file system
        without locks, a folder this user cannot write), the block runs unlocked.

        Args:
            wait: wait for another holder to finish, instead of yielding None at once.

        Yields:
            The lock held (which says when the last sweep finished), or None: another process holds it.
        """
        try:
            fd = os.open(self.sweep_lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:  # no instance folder yet: no images to sweep either
            yield SweepLock(None)
            return
        except OSError as e:
            log.warning("sweeping %s without its lock: cannot open %s: %s", self.root, self.sweep_lock_path,
                        e.strerror or e)
            yield SweepLock(None)
            return
        try:
            yield SweepLock(fd) if self._lock(fd, wait) else None
        finally:
            os.close(fd)  # releases the lock

    def _lock(self, fd: int, wait: bool) -> bool:
        """Take the sweep lock on ``fd``; False: another holder has it (and ``wait`` is False)."""
        if sys.platform == "win32":
            return True  # no flock: sweeps may overlap, which is safe
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as e:  # ENOLCK: a network file system without locks
            log.warning("sweeping %s without its lock: cannot lock %s: %s", self.root, self.sweep_lock_path,
                        e.strerror or e)
        return True

    def _folders(self) -> Iterator[Path]:
        """The ``ab/cd`` folders blobs are in."""
        for top in self._entries(self.root):
            if _LEVEL.fullmatch(top.name) and top.is_dir(follow_symlinks=False):
                for sub in self._entries(Path(top.path)):
                    if _LEVEL.fullmatch(sub.name) and sub.is_dir(follow_symlinks=False):
                        yield Path(sub.path)

    def _entries(self, folder: Path) -> list[os.DirEntry[str]]:
        """The entries of ``folder``; none when it does not exist (yet, or any more).

        Raises:
            StoreError: it cannot be listed.
        """
        try:
            with os.scandir(folder) as entries:
                return list(entries)
        except FileNotFoundError:
            return []
        except OSError as e:
            raise StoreError(f"cannot list the image folder {folder}: {e.strerror or e}") from e


def _older(entry: os.DirEntry[str], cutoff: float) -> bool:
    """Whether ``entry`` is a plain file last written before ``cutoff`` (one gone meanwhile is not)."""
    try:
        return entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff
    except FileNotFoundError:
        return False
