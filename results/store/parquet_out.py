"""Parquet files written through pyarrow's writer core, without importing ``pyarrow.parquet``.

``import pyarrow.parquet`` imports ``pyarrow.fs`` (the S3, GCS, Azure and HDFS filesystems)
and with it ``ssl``: about 27 ms of CPU of every ``aidflow run`` (issue 19, fast start-up),
for a store that only ever writes local files. :class:`ParquetFileWriter` does what
``pyarrow.parquet.ParquetWriter`` does for a local path — the same
``pyarrow._parquet.ParquetWriter`` with the same settings — without the filesystem layer,
and :func:`write_table` is ``pyarrow.parquet.write_table`` for a local path.

The files are byte for byte those ``pyarrow.parquet`` writes with the same compression:
``tests/results/test_parquet_out.py`` compares them (an event part of several row groups with
dictionary columns, and a KPI table), so a pyarrow upgrade that changes the writer's
defaults, or its private ``_parquet`` module, fails there first. Reading stays with
``pyarrow.parquet`` (``results.store.reading`` imports it when a part is read back).

Example:
    >>> import pathlib, tempfile
    >>> import pyarrow as pa
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
    >>> write_table(pa.table({"x": [1, 2, 3]}), path)
    >>> path.read_bytes()[:4]
    b'PAR1'
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
from pyarrow import _parquet

__all__ = ["ParquetFileWriter", "write_table"]

SETTINGS: dict[str, Any] = {
    "version": "2.6",
    "use_dictionary": True,
    "write_statistics": True,
    "use_deprecated_int96_timestamps": False,
    "writer_engine_version": "V2",
    "data_page_version": "1.0",
    "use_compliant_nested_type": True,
    "store_schema": True,
}
"""What ``pyarrow.parquet.ParquetWriter`` passes to ``_parquet.ParquetWriter`` by default (pyarrow 26)."""


class ParquetFileWriter:
    """Row groups into one local Parquet file, as ``pyarrow.parquet.ParquetWriter`` writes them.

    Args:
        path: the file to create (truncated if it exists).
        schema: every table or batch written must have this schema (metadata aside).
        compression: the codec of every column ("zstd" throughout the store).
    """

    def __init__(self, path: str | Path, schema: pa.Schema, compression: str = "zstd") -> None:
        self.schema = schema
        self._writer = _parquet.ParquetWriter(str(path), schema, compression=compression, **SETTINGS)
        self._open = True

    def write_table(self, table: pa.Table, row_group_size: int | None = None) -> None:
        """Write ``table`` as row groups of at most ``row_group_size`` rows (None: pyarrow's default)."""
        if not table.schema.equals(self.schema, check_metadata=False):
            raise ValueError(f"table schema does not match the file's schema:\n{table.schema}\nvs.\n{self.schema}")
        self._writer.write_table(table, row_group_size=row_group_size)

    def write_batch(self, batch: pa.RecordBatch, row_group_size: int | None = None) -> None:
        """Write one record batch (as ``pyarrow.parquet.ParquetWriter.write_batch``)."""
        self.write_table(pa.Table.from_batches([batch], batch.schema), row_group_size)

    def close(self) -> None:
        """Finish the file (its footer); closing again does nothing."""
        if self._open:
            self._open = False
            self._writer.close()

    def __enter__(self) -> ParquetFileWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def write_table(table: pa.Table, path: str | Path, compression: str = "zstd") -> None:
    """Write ``table`` to the local file ``path``: ``pyarrow.parquet.write_table(table, path, compression=...)``."""
    with ParquetFileWriter(path, table.schema, compression) as writer:
        writer.write_table(table)
