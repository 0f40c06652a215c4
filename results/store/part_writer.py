"""Writing one event part while the replication runs: the engine log's sink, a Parquet writer thread.

Each record batch becomes one Parquet row group, written by a background thread fed through a
bounded queue, so memory stays bounded on long runs.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from results.store.atomic import _commit, _tmp_path
from results.store.hashing import sha256_file
from results.store.layout import StoreError
from results.store.parquet_out import ParquetFileWriter
from sim.log import arrow_schema

__all__ = ["PartWriter"]

_STOP = object()


class PartWriter:
    """A sink for ``sim.log.EventLog`` that writes one event part as Parquet from a thread.

    Each record batch handed to the writer (``writer(batch)``) is put on a bounded queue and
    written by a background thread as one zstd Parquet row group to a temporary file next to
    ``path``. ``close()`` waits for the thread, fsyncs, renames the file to ``path`` and returns
    ``(sha256 of the file, rows)``; an error of the thread is re-raised there (or at the next
    batch). ``abort()`` stops the thread and removes the temporary file. Usable as a context
    manager: leaving the block with an exception aborts, otherwise it closes.

    ``tap`` (``sim.cli.execute``: a ``results.kpis.live.LiveKpis``) sees every batch, unchanged, in
    the calling thread right after it is queued, so the KPIs are counted while the run goes and
    while this batch is written; an error it raises is raised by ``writer(batch)``. (Counted in
    the writer thread instead, the KPIs contend for the GIL with the simulation: at 10^5 lots of
    the core workload engine + KPIs took 8.3 s and 430 MB, against 7.3 s and 320 MB here.)

    Args:
        path: The final part path (its folder must exist).
        schema: Arrow schema of the batches; the event table's by default.
        max_queued_batches: Batches waiting for the thread at most (memory bound).
        tap: Called with each batch after it is queued (in the calling thread).
    """

    def __init__(
        self,
        path: str | Path,
        schema: pa.Schema | None = None,
        max_queued_batches: int = 4,
        tap: Callable[[pa.RecordBatch], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.schema = arrow_schema() if schema is None else schema
        self.max_queued_batches = max(1, max_queued_batches)
        self.tap = tap
        self.rows = 0
        self.row_groups = 0
        self.sha256: str | None = None
        self._tmp = _tmp_path(self.path)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=self.max_queued_batches)
        self._error: BaseException | None = None
        self._done = False
        self._stop_sent = False
        self._aborted = False
        try:
            self._writer = ParquetFileWriter(self._tmp, self.schema, compression="zstd")  # = pq.ParquetWriter's bytes
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            raise
        self._thread = threading.Thread(target=self._work, name=f"aidflow-part-{self.path.name}", daemon=True)
        self._thread.start()

    @property
    def tmp_path(self) -> Path:
        """The temporary file being written."""
        return self._tmp

    def _work(self) -> None:
        writer = self._writer
        try:
            while True:
                batch = self._queue.get()
                if batch is _STOP:
                    break
                writer.write_batch(batch, row_group_size=max(1, batch.num_rows))
                self.row_groups += 1
            writer.close()
        except BaseException as exc:
            self._error = exc
            with contextlib.suppress(Exception):
                writer.close()
            # keep draining so the producer never blocks on a full queue
            while self._queue.get() is not _STOP:
                pass

    def __call__(self, batch: pa.RecordBatch) -> None:
        """Queue one record batch (blocks while the queue is full)."""
        if self._done:
            raise StoreError(f"part {self.path} is already closed")
        if self._error is not None:
            raise StoreError(f"writing {self.path} failed: {self._error}") from self._error
        self.rows += batch.num_rows
        self._queue.put(batch)
        if self.tap is not None:
            self.tap(batch)

    def _stop(self) -> None:
        # safe to call again after a KeyboardInterrupt cut it short: the sentinel is sent until
        # it is known to be queued, and the thread is always waited for
        self._done = True
        if not self._stop_sent:
            self._queue.put(_STOP)
            self._stop_sent = True
        self._thread.join()

    def close(self) -> tuple[str, int]:
        """Finish the file, fsync it, rename it to ``path``; returns ``(sha256, rows)``."""
        if self.sha256 is not None:
            return self.sha256, self.rows
        if self._aborted:
            raise StoreError(f"part {self.path} was aborted")
        self._stop()
        if self._error is not None:
            self._tmp.unlink(missing_ok=True)
            raise StoreError(f"writing {self.path} failed: {self._error}") from self._error
        try:
            _commit(self._tmp, self.path)
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            raise
        self.sha256 = sha256_file(self.path)
        return self.sha256, self.rows

    def abort(self) -> None:
        """Stop writing and remove the temporary file (the final path is untouched)."""
        if self.sha256 is not None:
            return  # already closed: the part is final
        self._aborted = True
        self._stop()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
