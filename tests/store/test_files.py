"""Content-addressed image files: stored once, atomically, and never outside their folder."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from numberplate.errors import StoreError
from numberplate.store.files import ImageFiles


def test_put_stores_by_sha256_once(files: ImageFiles) -> None:
    sha = files.put(b"jpeg bytes")
    assert sha == hashlib.sha256(b"jpeg bytes").hexdigest()
    assert files.put(b"jpeg bytes") == sha
    path = files.path(sha)
    assert path.read_bytes() == b"jpeg bytes"
    assert path.relative_to(files.root).parts[:2] == (sha[:2], sha[2:4])
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_get_and_delete(files: ImageFiles) -> None:
    sha = files.put(b"x")
    assert files.get(sha) == b"x"
    files.delete(sha)
    files.delete(sha)
    assert files.get(sha) is None


@pytest.mark.parametrize("bad", ["../../etc/passwd", "a" * 63, "A" * 64, "g" * 64, ""])
def test_names_that_are_not_a_sha256_are_refused(files: ImageFiles, bad: str) -> None:
    with pytest.raises(StoreError, match="not an image id"):
        files.path(bad)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_folder_raises_store_error(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(StoreError, match="cannot write"):
            ImageFiles(tmp_path / "images").put(b"x")
    finally:
        tmp_path.chmod(0o700)


def test_unwritable_root_raises_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "images"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(StoreError, match="cannot write"):
        ImageFiles(blocker).put(b"x")


@pytest.mark.parametrize(("method", "doing"), [("get", "read"), ("delete", "remove")])
def test_a_file_that_cannot_be_read_or_removed_raises_store_error(files: ImageFiles, method: str, doing: str
                                                                  ) -> None:
    sha = files.put(b"x")
    files.path(sha).unlink()
    files.path(sha).mkdir()  # an OSError other than "not found", which even root gets
    with pytest.raises(StoreError, match=rf"cannot {doing} the image file .*{sha}\.jpg: Is a directory"):
        getattr(files, method)(sha)


def test_one_walk_lists_old_blobs_and_temporaries_and_only_temporaries_are_removed_as_such(files: ImageFiles
                                                                                           ) -> None:
    sha = files.put(b"x")
    tmp = files.path(sha).with_name(f".{sha}.0a1b2c3d.tmp")
    tmp.write_bytes(b"half")
    (files.root / "README.txt").write_bytes(b"not ours")
    old = sorted(files.written_before(time.time() + 60), key=lambda f: f.path.name)
    assert [(f.path, f.sha256) for f in old] == [(tmp, None), (files.path(sha), sha)]
    assert list(files.written_before(time.time() - 60)) == []  # both written just now
    with pytest.raises(StoreError, match="not an unfinished image file"):
        files.remove_temporary(old[1])
    assert files.remove_temporary(old[0]) and not files.remove_temporary(old[0])
    assert not tmp.exists() and files.get(sha) == b"x"
