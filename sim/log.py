"""EventLog: the append-only record buffer of a run, expanded to Arrow columns at flush.

On the hot path a process appends one flat tuple per event with ``log.records.append``
(bound once to a local name), no object and no method call of ours::

    (t, code, lot, qty, vehicle, ref, value)

``code`` indexes a table of ``(kind, item, node, link)`` registered once per combination by
``log.code(...)``; at flush the columns ``seq``, ``kind``, ``item``, ``node`` and ``link`` are
filled from that table with numpy (``item`` of lot rows from the lot table). ``qty == 0`` and
NaN ``value`` become nulls. Every ``rows_per_batch`` rows (checked by the engine at lot
boundaries) the buffer becomes one Arrow record batch handed to ``sink`` — the run store writes
it as a Parquet row group from a writer thread — so memory stays bounded on long runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.events import COLUMNS, KINDS

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["NONE", "EventLog", "Record", "arrow_schema"]

NONE = -1
"""Index meaning 'no item/node/link/lot/vehicle/ref'."""

NAN = math.nan

Record = tuple[float, int, int, int, int, int, float]


def arrow_schema() -> pa.Schema:
    """The Arrow schema of the event table."""
    import pyarrow as pa

    d = pa.dictionary(pa.int32(), pa.string())
    return pa.schema(
        [
            ("seq", pa.int64()),
            ("t", pa.float64()),
            ("kind", d),
            ("lot", pa.int64()),
            ("item", d),
            ("qty", pa.int64()),
            ("node", d),
            ("link", d),
            ("vehicle", pa.int64()),
            ("ref", pa.int64()),
            ("value", pa.float64()),
        ]
    )


class EventLog:
    """Append-only event buffer of one replication.

    Args:
        items: item ids, indexed by the engine's item index.
        nodes: node ids.
        links: link ids.
        sink: receives each flushed ``pyarrow.RecordBatch``; None keeps batches in memory.
        rows_per_batch: rows per record batch (2^19 by default).
    """

    def __init__(
        self,
        items: list[str],
        nodes: list[str],
        links: list[str],
        sink: Callable[[Any], None] | None = None,
        rows_per_batch: int = 2**19,
    ) -> None:
        self.items = list(items)
        self.nodes = list(nodes)
        self.links = list(links)
        self.records: list[Record] = []
        self.lot_item: list[int] = []
        self._codes: list[tuple[int, int, int, int]] = []
        self._code_of: dict[tuple[int, int, int, int], int] = {}
        self.sink = sink
        self.rows_per_batch = rows_per_batch
        self.batches: list[Any] = []
        self.rows_flushed = 0

    # ------------------------------------------------------------------ registration

    def code(self, kind: int, item: int = NONE, node: int = NONE, link: int = NONE) -> int:
        """The record code of ``(kind, item, node, link)``, registered on first use."""
        key = (kind, item, node, link)
        c = self._code_of.get(key)
        if c is None:
            c = len(self._codes)
            self._codes.append(key)
            self._code_of[key] = c
        return c

    def new_lot(self, item: int) -> int:
        """A new lot id carrying ``item``."""
        self.lot_item.append(item)
        return len(self.lot_item) - 1

    @property
    def rows(self) -> int:
        """Rows appended so far (flushed and buffered)."""
        return self.rows_flushed + len(self.records)

    # ------------------------------------------------------------------ flush

    def flush(self) -> None:
        """Expand the buffered records into one record batch and hand it on."""
        if not self.records:
            return
        batch = self._to_batch(self.records, self.rows_flushed)
        self.rows_flushed += len(self.records)
        self.records.clear()  # keep the list object: the engine holds its bound .append
        if self.sink is None:
            self.batches.append(batch)
        else:
            self.sink(batch)

    def maybe_flush(self) -> bool:
        """Flush when the buffer holds ``rows_per_batch`` rows; True if it did."""
        if len(self.records) >= self.rows_per_batch:
            self.flush()
            return True
        return False

    def _to_batch(self, records: list[Record], seq0: int) -> pa.RecordBatch:
        import pyarrow as pa

        n = len(records)
        arr = np.array(records, dtype=np.float64).reshape(n, 7)
        t = arr[:, 0].copy()
        code = arr[:, 1].astype(np.int64)
        lot = arr[:, 2].astype(np.int64)
        qty = arr[:, 3].astype(np.int64)
        vehicle = arr[:, 4].astype(np.int64)
        ref = arr[:, 5].astype(np.int64)
        value = arr[:, 6].copy()
        table = np.array(self._codes, dtype=np.int64).reshape(-1, 4)
        kind = table[code, 0]
        item = table[code, 1]
        if self.lot_item:
            lot_item = np.asarray(self.lot_item, dtype=np.int64)
            from_lot = (item < 0) & (lot >= 0)
            item[from_lot] = lot_item[lot[from_lot]]
        node = table[code, 2]
        link = table[code, 3]

        def dict_col(idx: np.ndarray, names: list[str]) -> pa.DictionaryArray:
            indices = pa.array(idx.astype(np.int32), mask=idx < 0)
            return pa.DictionaryArray.from_arrays(indices, pa.array(names, type=pa.string()))

        columns = [
            pa.array(np.arange(seq0, seq0 + n, dtype=np.int64)),
            pa.array(t),
            dict_col(kind, list(KINDS)),
            pa.array(lot),
            dict_col(item, self.items),
            pa.array(qty, mask=qty == 0),
            dict_col(node, self.nodes),
            dict_col(link, self.links),
            pa.array(vehicle),
            pa.array(ref),
            pa.array(value, mask=np.isnan(value)),
        ]
        return pa.RecordBatch.from_arrays(columns, schema=arrow_schema())

    def table(self) -> pa.Table:
        """All batches kept in memory as one table (only when no sink was given)."""
        import pyarrow as pa

        self.flush()
        return pa.Table.from_batches(self.batches, schema=arrow_schema())


assert len(COLUMNS) == 11
