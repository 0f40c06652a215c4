"""Reading event parts back: the parts on disk, batch by batch (bounded memory) or as one table."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from results.store.layout import EVENTS_DIR, StoreError

__all__ = ["BATCH_ROWS", "iter_event_batches", "read_events"]

_PART = re.compile(r"^strategy=(?P<s>[A-Za-z][A-Za-z0-9_\-]*)/rep=(?P<r>[0-9]+)\.parquet$")


def _parts_on_disk(run_dir: Path) -> list[tuple[str, int, Path]]:
    """Every part file of a run, in (strategy, replication) order.

    Files under a final name are complete by construction (written under a temporary name
    and renamed), so the folder itself is the list; the manifest only adds their sha256.
    """
    out: list[tuple[str, int, Path]] = []
    events = run_dir / EVENTS_DIR
    if events.is_dir():
        for p in events.glob("strategy=*/rep=*.parquet"):
            mm = _PART.match(p.relative_to(events).as_posix())
            if mm:
                out.append((mm["s"], int(mm["r"]), p))
    return sorted(out, key=lambda x: (x[0], x[1]))


BATCH_ROWS = 1 << 16
"""Rows per record batch of ``iter_event_batches`` at most (a row group is 2^19-2^20 rows)."""


def iter_event_batches(
    run_dir: str | Path,
    strategy: str,
    rep: int,
    columns: Iterable[str] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[pa.RecordBatch]:
    """One part's rows in ``seq`` order, a row group (or a slice of one) at a time.

    Each record batch holds rows of one row group only (the writer makes one row group per
    batch of the engine's log, ``PartWriter``), at most ``batch_rows`` of them, with only
    ``columns`` (all by default). Row groups are read one after another, so memory stays
    bounded by the row-group size however long the run.

    Raises:
        StoreError: no such part, a part cannot be read, or it lacks a requested column.
    """
    run_dir = Path(run_dir)
    parts = [p for s, r, p in _parts_on_disk(run_dir) if s == strategy and r == rep]
    if not parts:
        raise StoreError(f"{run_dir}: no event part matches strategy={strategy} rep={rep}")
    path = parts[0]
    import pyarrow.parquet as pq  # here, not at import: it imports pyarrow.fs and ssl (results/store/parquet_out.py)

    try:
        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        cols = None if columns is None else list(columns)
        missing = [c for c in cols or () if c not in names]
        if missing:
            raise StoreError(f"{path}: event part has no column {missing[0]!r}")
        for i in range(pf.num_row_groups):
            rows = pf.metadata.row_group(i).num_rows
            if rows == 0:
                continue
            size = max(1, min(rows, batch_rows))
            yield from pf.iter_batches(batch_size=size, row_groups=[i], columns=cols, use_threads=False)
            pa.default_memory_pool().release_unused()  # the decoded row group's buffers go back to the OS
    except (OSError, pa.ArrowException) as exc:
        raise StoreError(f"{path}: cannot read event part: {exc}") from None


def read_events(run_dir: str | Path, strategy: str | None = None, rep: int | None = None) -> pa.Table:
    """Read event parts of a run directory back as one Arrow table.

    With both ``strategy`` and ``rep`` the one part is returned as written (the event
    columns of ``sim.log.arrow_schema``). Otherwise every matching part is read, in
    (strategy, replication) order, with two more columns: ``strategy`` (string) and
    ``replication`` (int64).

    Raises:
        StoreError: no such part, or a part cannot be read.
    """
    run_dir = Path(run_dir)
    parts = [
        (s, r, p)
        for s, r, p in _parts_on_disk(run_dir)
        if (strategy is None or s == strategy) and (rep is None or r == rep)
    ]
    if not parts:
        what = f"strategy={strategy or '*'} rep={'*' if rep is None else rep}"
        raise StoreError(f"{run_dir}: no event part matches {what}")

    def one(path: Path) -> pa.Table:
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(path).read()
        except (OSError, pa.ArrowException) as exc:
            raise StoreError(f"{path}: cannot read event part: {exc}") from None

    if strategy is not None and rep is not None:
        return one(parts[0][2])
    tables = []
    for s, r, path in parts:
        t = one(path)
        t = t.append_column("strategy", pa.array([s] * t.num_rows, type=pa.string()))
        t = t.append_column("replication", pa.array(np.full(t.num_rows, r, dtype=np.int64)))
        tables.append(t)
    return pa.concat_tables(tables)
