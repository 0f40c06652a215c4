"""Atomic writes: a temporary name in the final folder, flush, fsync, rename, fsync the folder.

A killed process never leaves a half-written file under a final name; the temporary files
(``TMP_PREFIX``) are removed when a run directory is opened.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from results.store.hashing import sha256_file
from results.store.layout import TMP_PREFIX
from results.store.parquet_out import write_table

__all__ = ["atomic_write_bytes", "atomic_write_json", "atomic_write_parquet", "atomic_write_text"]


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _tmp_path(path: Path) -> Path:
    """A fresh temporary name next to ``path`` (same folder, so the rename is atomic)."""
    return path.with_name(f"{TMP_PREFIX}{path.name}.{uuid.uuid4().hex[:16]}")


def _commit(tmp: Path, path: Path, sync_folder: bool = True) -> None:
    """fsync ``tmp``, rename it over ``path`` and (``sync_folder``) fsync the folder."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if sync_folder:
        _fsync_dir(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes, sync_folder: bool = True) -> None:
    """Write ``data`` to ``path`` atomically: temp file, flush, fsync, rename, fsync folder.

    The file's data is always on disk before the rename, so ``path`` holds either the old or
    the new bytes whatever happens. ``sync_folder=False`` leaves out the folder's fsync, which
    makes the rename itself durable: only for a caller that renames another file in the same
    folder right after and fsyncs the folder then (one folder fsync covers both renames), as
    ``RunStore`` does with a file and the manifest that records it.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
        >>> atomic_write_bytes(p, b"abc"); p.read_bytes()
        b'abc'
    """
    path = Path(path)
    tmp = _tmp_path(path)
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        if sync_folder:
            _fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str, sync_folder: bool = True) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (``sync_folder``: see ``atomic_write_bytes``)."""
    atomic_write_bytes(path, text.encode("utf-8"), sync_folder)


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON to ``path`` atomically (NaN refused)."""
    text = json.dumps(obj, indent=2, sort_keys=True, allow_nan=False, default=_json_default)
    atomic_write_text(path, text + "\n")


def atomic_write_parquet(path: str | Path, table: pa.Table, sync_folder: bool = True) -> str:
    """Write ``table`` to ``path`` as zstd Parquet atomically; returns the file's sha256.

    ``sync_folder``: see ``atomic_write_bytes``.
    """
    path = Path(path)
    tmp = _tmp_path(path)
    try:
        write_table(table, tmp, compression="zstd")  # pyarrow.parquet's bytes, without importing it
        _commit(tmp, path, sync_folder)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return sha256_file(path)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return obj.as_posix()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
