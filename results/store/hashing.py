"""Hashes of files (their bytes) and of tables (their content, whatever the encoding)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["sha256_file", "table_sha256"]


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _hash_array(h: Any, arr: pa.ChunkedArray) -> None:
    """Feed one column into ``h``: its null mask, then its values in a canonical form."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    combined = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    n = len(combined)
    h.update(n.to_bytes(8, "little"))
    valid = np.asarray(combined.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    h.update(np.packbits(valid).tobytes())
    t = combined.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        # strings: distinct values in order of first appearance, then each row's index
        enc = combined.dictionary_encode()
        for s in enc.dictionary.to_pylist():
            b = s.encode("utf-8")
            h.update(len(b).to_bytes(8, "little"))
            h.update(b)
        idx = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype("<i8")
        h.update(idx.tobytes())
    elif pa.types.is_floating(t):
        h.update(combined.fill_null(0.0).to_numpy(zero_copy_only=False).astype("<f8").tobytes())
    elif pa.types.is_integer(t) or pa.types.is_boolean(t):
        h.update(combined.fill_null(0).to_numpy(zero_copy_only=False).astype("<i8").tobytes())
    else:
        h.update(json.dumps(combined.to_pylist(), default=str).encode("utf-8"))


def table_sha256(table: pa.Table) -> str:
    """Hex sha256 of a table's content, independent of chunking, dictionaries and Parquet encoding.

    Two tables hash equal when they have the same column names, the same logical types
    (a dictionary column counts as its value type) and the same values and nulls, row by row.

    Example:
        >>> a = pa.table({"x": [1, None], "s": ["a", "b"]})
        >>> b = pa.table({"x": [1, None], "s": pa.array(["a", "b"]).dictionary_encode()})
        >>> table_sha256(a) == table_sha256(b)
        True
    """
    h = hashlib.sha256()
    for name, col in zip(table.column_names, table.columns, strict=True):
        t = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
        h.update(f"{name}:{t};".encode())
        _hash_array(h, col)
    return h.hexdigest()
