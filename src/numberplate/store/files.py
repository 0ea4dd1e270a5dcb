"""Images and crops on disk, content-addressed: a file's name is the SHA-256 of its bytes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

from numberplate.errors import StoreError

_SHA256 = re.compile(r"[0-9a-f]{64}")
_LEVEL = re.compile(r"[0-9a-f]{2}")
_TEMPORARY = re.compile(r"\.[0-9a-f]{64}\.[0-9a-f]+\.tmp")


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

    def stored_before(self, cutoff: float) -> Iterator[str]:
        """The SHA-256 of every blob last written before ``cutoff`` (a POSIX time), folder by folder.

        Only names this class writes are listed: anything else in the folder is never touched.

        Raises:
            StoreError: the folder cannot be listed.
        """
        for folder in self._folders():
            for entry in self._entries(folder):
                sha = entry.name.removesuffix(self.suffix)
                in_place = _SHA256.fullmatch(sha) is not None and self.path(sha) == folder / entry.name
                if entry.name.endswith(self.suffix) and in_place and _older(entry, cutoff):
                    yield sha

    def remove_temporaries(self, cutoff: float) -> int:
        """Remove the temporary files of writes that never finished (a killed process) made before ``cutoff``.

        Returns:
            How many were removed.

        Raises:
            StoreError: the folder cannot be listed, or such a file cannot be removed.
        """
        removed = 0
        for folder in self._folders():
            for entry in self._entries(folder):
                if _TEMPORARY.fullmatch(entry.name) and _older(entry, cutoff):
                    try:
                        Path(entry.path).unlink(missing_ok=True)
                    except OSError as e:
                        raise StoreError(f"cannot remove the unfinished image file {entry.path}: {e.strerror or e}"
                                         ) from e
                    removed += 1
        return removed

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
