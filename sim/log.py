"""EventLog: the append-only record buffer of a run, expanded to Arrow columns at flush.

The hot path appends one flat record of four numbers per *instant of one lot* — not per row —
with the bound ``list.extend`` of ``log.records`` (no object and no method call of ours)::

    extend((t, code, a, b))

``code`` names a *template*: the one or more consecutive rows that record stands for, each
with its kind, node and link, and where its other columns come from. Three families:

``lot_code(*rows)`` (hot)
    ``a`` is a lot id and ``b`` a vehicle number (or -1). A lot row takes ``lot = a`` and its
    ``item``, ``qty`` and ``ref`` from the lot table (``new_lot``); ``vehicle = b`` on the
    kinds that carry one (loaded, arrived, lost). ``departed`` in such a template is the
    departure of a vehicle holding that one lot (``qty`` of lot ``a``, ``vehicle = b``);
    ``returned`` is a vehicle row (``vehicle = b``). So a lot's service finishing, queueing
    for the next link, being loaded and the vehicle departing are four rows, one record.
``departed_code(node, link)`` (hot)
    a vehicle leaving with several lots: ``a`` is the units on board, ``b`` the vehicle.
``code(kind, item, node, link)`` (cold: requirements, money, tenders, disruptions...)
    one row whose ``lot, qty, vehicle, ref, value`` are ``side[a]``: append with ``put``.

Every ``CHUNK_RECORDS`` records (checked by production lines at lot boundaries against
``check_at``) and after every chunk of 8,192 engine events (``maybe_flush`` is the
environment's ``on_chunk``, ``sim.budget``: the log flushes as the run goes, whatever makes
its rows) the buffer is packed into a float64 numpy chunk with ``struct`` while its
objects are still in cache, and the list is cleared. When the chunks hold ``rows_per_batch``
rows, a flush expands them with numpy into the eleven columns — once per row group (``seq``
from the running row count; ``qty == 0`` and NaN ``value`` become nulls) — and hands one
Arrow record batch to ``sink``; the run store writes it as a Parquet row group from its
writer thread, so memory stays bounded.

Records are in time order except the ``returned`` rows of vehicles whose return the engine
noticed late (``sim.model.transport`` keeps returns lazily): a flush first lets the engine
emit every return due before ``now`` (``before_flush``), then moves each late record to just
after the last record at or before its time, so ``t`` is non-decreasing and ``seq`` follows.

The lot table (``lot_item``, ``lot_qty``, ``lot_req``: int64 ``array``s indexed by lot id)
is read by numpy without a copy at flush.
"""

from __future__ import annotations

import math
import struct
from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.events import ARRIVED, COLUMNS, DEPARTED, KINDS, LOADED, LOST, LOT_KINDS, RETURNED

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["NONE", "EventLog", "Record", "arrow_schema"]

NONE = -1
"""Index meaning 'no item/node/link/lot/vehicle/ref'."""

NAN = math.nan

CHUNK_RECORDS = 8192
"""Records converted to numpy at a time (small enough for their Python objects to be in cache)."""

Record = tuple[float, int, int, int]
"""One hot record: ``(t, code, a, b)``."""

# where a template row takes its columns from
_LOT = 0  # a lot row: lot = a; item, qty, ref from the lot table; vehicle = b if the kind has one
_DEP_LOT = 1  # departed with one lot: qty of lot a, vehicle = b
_DEP_QTY = 2  # departed: qty = a, vehicle = b
_VEH = 3  # returned: vehicle = b
_SIDE = 4  # cold row: lot, qty, vehicle, ref, value = side[a]

_LOT_KIND_CODES = frozenset(KINDS.index(k) for k in LOT_KINDS)
_WITH_VEHICLE = frozenset({LOADED, ARRIVED, LOST})


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


def _view(a: array) -> np.ndarray:
    """``a`` as an int64 numpy array without copying (release it before ``a`` grows again)."""
    return np.frombuffer(a, dtype=np.int64) if len(a) else np.zeros(1, dtype=np.int64)


class EventLog:
    """Append-only event buffer of one replication.

    Args:
        items: item ids, indexed by the engine's item index.
        nodes: node ids.
        links: link ids.
        sink: receives each flushed ``pyarrow.RecordBatch``; None keeps batches in memory.
        rows_per_batch: rows per record batch (2^19 by default): each batch but the last holds
            that many rows, or up to three more (the rows of one record stay together).

    Example:
        >>> from sim.events import QUEUED, SERVICE_STARTED
        >>> log = EventLog(["box"], ["hub"], [])
        >>> lot = log.new_lot(0, qty=5, ref=0)
        >>> c = log.lot_code((QUEUED, 0, -1), (SERVICE_STARTED, 0, -1))
        >>> log.records.extend((1.5, c, lot, -1))
        >>> log.rows
        2
        >>> log.table().column("kind").to_pylist()
        ['queued', 'service_started']
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
        self.records: list[float] = []
        self.side: list[tuple[int, int, int, int, float]] = []
        # the lot table: int64 arrays appended by the engine, read by numpy (zero copy) at flush
        self.lot_item = array("q")
        self.lot_qty = array("q")
        self.lot_req = array("q")
        # templates: code -> rows (kind, item, node, link, source)
        self._templates: list[tuple[tuple[int, int, int, int, int], ...]] = []
        self._code_of: dict[tuple[tuple[int, int, int, int, int], ...], int] = {}
        self._cold: dict[tuple[int, int, int, int], int] = {}  # (kind, item, node, link) -> code
        self._tables: dict[str, np.ndarray] | None = None
        self._nrows: list[int] = []
        self._nrows_np: np.ndarray | None = None
        self.sink = sink
        self.rows_per_batch = rows_per_batch
        self.batches: list[Any] = []
        self.rows_flushed = 0
        self.before_flush: list[Callable[[], None]] = []
        # records already converted to numpy, waiting for the batch to fill
        self._chunks: list[np.ndarray] = []
        self._chunk_rows = 0
        self.check_at = min(CHUNK_RECORDS, rows_per_batch) * 4
        """``maybe_flush`` acts once ``len(records)`` reaches this (engines may test it inline)."""
        self._kinds = list(KINDS)

    # ------------------------------------------------------------------ registration

    def _register(self, rows: tuple[tuple[int, int, int, int, int], ...]) -> int:
        c = self._code_of.get(rows)
        if c is None:
            c = len(self._templates)
            self._templates.append(rows)
            self._code_of[rows] = c
            self._nrows.append(len(rows))
            self._tables = None
            self._nrows_np = None
        return c

    def code(self, kind: int, item: int = NONE, node: int = NONE, link: int = NONE) -> int:
        """The code of a cold row ``(kind, item, node, link)``; append it with ``put``."""
        key = (kind, item, node, link)
        c = self._cold.get(key)
        if c is None:
            c = self._cold[key] = self._register(((kind, item, node, link, _SIDE),))
        return c

    def lot_code(self, *rows: tuple[int, int, int]) -> int:
        """The code of consecutive rows ``(kind, node, link)`` about one lot ``a`` (and vehicle ``b``).

        Lot kinds become lot rows; ``departed`` is the departure of a vehicle holding lot ``a``
        alone; ``returned`` is a vehicle row.
        """
        out = []
        for kind, node, link in rows:
            if kind in _LOT_KIND_CODES:
                src = _LOT
            elif kind == DEPARTED:
                src = _DEP_LOT
            elif kind == RETURNED:
                src = _VEH
            else:
                raise ValueError(f"{KINDS[kind]} is not a row about a lot or vehicle")
            out.append((kind, NONE, node, link, src))
        return self._register(tuple(out))

    def departed_code(self, node: int, link: int) -> int:
        """The code of ``departed`` with ``a`` = units on board, ``b`` = vehicle."""
        return self._register(((DEPARTED, NONE, node, link, _DEP_QTY),))

    def put(self, t: float, code: int, lot: int, qty: int, vehicle: int, ref: int, value: float) -> None:
        """Append one cold row (a ``code(...)`` code) with its columns."""
        side = self.side
        self.records.extend((t, code, len(side), 0))
        side.append((lot, qty, vehicle, ref, value))

    def put_records(self, recs: np.ndarray) -> None:
        """Append hot records given as an ``(n, 4)`` float64 array (after every record appended so far)."""
        self._absorb()
        self._chunks.append(recs)
        self._chunk_rows += self._rows_of(recs)

    def new_lot(self, item: int, qty: int = 0, ref: int = NONE) -> int:
        """A new lot id carrying ``qty`` units of ``item`` for requirement ``ref``."""
        self.lot_item.append(item)
        self.lot_qty.append(qty)
        self.lot_req.append(ref)
        return len(self.lot_item) - 1

    # ------------------------------------------------------------------ counting and flushing

    def _rows_of(self, chunk: np.ndarray) -> int:
        if self._nrows_np is None:
            self._nrows_np = np.asarray(self._nrows, dtype=np.int64)
        return int(self._nrows_np[chunk[:, 1].astype(np.intp)].sum())

    def _absorb(self) -> None:
        """Convert the buffered records to a numpy chunk (while their objects are still in cache)."""
        recs = self.records
        if recs:
            # struct packs Python floats and ints to doubles in one C loop (twice numpy's speed here)
            chunk = np.frombuffer(struct.pack(f"{len(recs)}d", *recs), dtype=np.float64).reshape(-1, 4)
            recs.clear()  # keep the list object: the engine holds its bound .extend
            self._chunks.append(chunk)
            self._chunk_rows += self._rows_of(chunk)

    @property
    def rows(self) -> int:
        """Rows appended so far (flushed and buffered)."""
        self._absorb()
        return self.rows_flushed + self._chunk_rows

    def flush(self) -> None:
        """Expand every buffered record into record batches (of about ``rows_per_batch`` rows) and hand them on."""
        self._flush(final=True)

    def maybe_flush(self) -> bool:
        """Hand on a batch of ``rows_per_batch`` rows if the buffer holds that many; True if it did.

        Called by the engine at lot boundaries once ``len(records) >= check_at``: the records
        become a numpy chunk, and a batch is made when the chunks hold enough rows.
        """
        self._absorb()
        if self._chunk_rows >= self.rows_per_batch:
            self._flush(final=False)
            return True
        return False

    def _flush(self, final: bool) -> None:
        for hook in self.before_flush:
            hook()
        self._absorb()
        if not self._chunks:
            return
        arr = self._chunks[0] if len(self._chunks) == 1 else np.concatenate(self._chunks)
        self._chunks.clear()
        self._chunk_rows = 0
        arr = _in_time_order(arr)
        tables = self._template_tables()
        cum = np.cumsum(tables["nrows"][arr[:, 1].astype(np.intp)])
        side = self.side[:]
        lots = (_view(self.lot_item), _view(self.lot_qty), _view(self.lot_req))
        start = 0
        while start < len(arr):
            done = int(cum[start - 1]) if start else 0
            if not final and int(cum[-1]) - done < self.rows_per_batch:
                break  # the rest waits for the next batch
            # a batch ends with the record that brings it to rows_per_batch (a record is never split)
            stop = min(int(np.searchsorted(cum, done + self.rows_per_batch, side="left")) + 1, len(arr))
            batch = self._to_batch(arr[start:stop], side, self.rows_flushed, lots, tables)
            self.rows_flushed += batch.num_rows
            start = stop
            if self.sink is None:
                self.batches.append(batch)
            else:
                self.sink(batch)
        del lots  # release the views: the engine appends to the arrays again
        self.side.clear()
        if start < len(arr):  # records carried over to the next batch (in time order already)
            rest = arr[start:].copy()
            cold = tables["a_is_side"][rest[:, 1].astype(np.intp)]
            if cold.any():  # their cold rows move to the new side list
                for j in np.flatnonzero(cold).tolist():
                    self.side.append(side[int(rest[j, 2])])
                    rest[j, 2] = len(self.side) - 1
            self._chunks.append(rest)
            self._chunk_rows = int(cum[-1] - (cum[start - 1] if start else 0))

    def _template_tables(self) -> dict[str, np.ndarray]:
        """Per template row: kind, item, node, link and where lot, qty, vehicle come from; per code: rows."""
        if self._tables is None:
            flat = [row for rows in self._templates for row in rows]
            tab = np.array(flat, dtype=np.int64).reshape(-1, 5)
            nrows = np.asarray(self._nrows, dtype=np.int64)
            kind = tab[:, 0]
            src = tab[:, 4]
            code_of_row = np.repeat(np.arange(len(nrows)), nrows)
            self._tables = {
                "nrows": nrows,
                "start": np.cumsum(nrows) - nrows,
                "kind": kind.astype(np.int32),
                "item": tab[:, 1].astype(np.int32),
                "node": tab[:, 2].astype(np.int32),
                "link": tab[:, 3].astype(np.int32),
                "src": src,
                "lot_row": src == _LOT,
                "qty_lot": (src == _LOT) | (src == _DEP_LOT),
                "vehicle": np.isin(kind, sorted(_WITH_VEHICLE)) | (src == _DEP_LOT) | (src == _DEP_QTY) | (src == _VEH),
                # per code: ``a`` is a lot id / a quantity
                "a_is_lot": np.bincount(code_of_row, weights=(src == _LOT) | (src == _DEP_LOT), minlength=len(nrows))
                > 0,
                "a_is_qty": np.bincount(code_of_row, weights=src == _DEP_QTY, minlength=len(nrows)) > 0,
                "a_is_side": np.bincount(code_of_row, weights=src == _SIDE, minlength=len(nrows)) > 0,
            }
        return self._tables

    def _to_batch(
        self,
        arr: np.ndarray,
        side: list[tuple[int, int, int, int, float]],
        seq0: int,
        lots: tuple[np.ndarray, np.ndarray, np.ndarray],
        T: dict[str, np.ndarray],
    ) -> pa.RecordBatch:
        """Records (in time order) -> one Arrow record batch, with numpy (a few dozen passes over the rows)."""
        import pyarrow as pa

        code = arr[:, 1].astype(np.intp)
        a = arr[:, 2].astype(np.int64)
        b = arr[:, 3].astype(np.int64)
        t = arr[:, 0]
        del arr
        nrows = T["nrows"][code]
        n = len(code)
        total = int(nrows.sum())
        # the lot table, read once per record (every row of a lot record is about the same lot)
        lot_item, lot_qty, lot_req = lots
        li = np.where(T["a_is_lot"][code], a, 0)
        qty_r, item_r, ref_r = lot_qty[li], lot_item[li], lot_req[li]
        del li
        if total == n:
            tpl = T["start"][code]
        else:
            tpl = np.repeat(T["start"][code] - (np.cumsum(nrows) - nrows), nrows)
            tpl += np.arange(total)
            t, a, b = np.repeat(t, nrows), np.repeat(a, nrows), np.repeat(b, nrows)
            qty_r, item_r, ref_r = np.repeat(qty_r, nrows), np.repeat(item_r, nrows), np.repeat(ref_r, nrows)
        any_qty_in_a = bool(T["a_is_qty"][code].any())
        del code, nrows
        lot_row = T["lot_row"][tpl]
        lot = np.where(lot_row, a, NONE)
        qty = np.where(T["qty_lot"][tpl], qty_r, 0)
        del qty_r
        if any_qty_in_a:
            in_a = T["src"][tpl] == _DEP_QTY
            qty[in_a] = a[in_a]
        item = np.where(lot_row, item_r, T["item"][tpl]).astype(np.int32, copy=False)
        ref = np.where(lot_row, ref_r, NONE)
        del item_r, ref_r, lot_row
        vehicle = np.where(T["vehicle"][tpl], b, NONE)
        del b
        value: np.ndarray | None = None
        if side:
            is_side = T["src"][tpl] == _SIDE
            if is_side.any():
                used = [side[i] for i in a[is_side].tolist()]
                sd = np.array([u[:4] for u in used], dtype=np.int64).reshape(-1, 4)
                lot[is_side] = sd[:, 0]
                qty[is_side] = sd[:, 1]
                vehicle[is_side] = sd[:, 2]
                ref[is_side] = sd[:, 3]
                value = np.full(total, NAN)
                value[is_side] = np.array([u[4] for u in used], dtype=np.float64)
        del a
        kind, node, link = T["kind"][tpl], T["node"][tpl], T["link"][tpl]
        del tpl

        def dict_col(idx: np.ndarray, names: list[str], nullable: bool = True) -> pa.DictionaryArray:
            indices = pa.array(idx, mask=idx < 0) if nullable else pa.array(idx)
            return pa.DictionaryArray.from_arrays(indices, pa.array(names, type=pa.string()))

        columns = [
            pa.array(np.arange(seq0, seq0 + total, dtype=np.int64)),
            pa.array(np.ascontiguousarray(t)),
            dict_col(kind, self._kinds, nullable=False),
            pa.array(lot),
            dict_col(item, self.items),
            pa.array(qty, mask=qty == 0),
            dict_col(node, self.nodes),
            dict_col(link, self.links),
            pa.array(vehicle),
            pa.array(ref),
            pa.nulls(total, pa.float64()) if value is None else pa.array(value, mask=np.isnan(value)),
        ]
        return pa.RecordBatch.from_arrays(columns, schema=arrow_schema())

    def table(self) -> pa.Table:
        """All batches kept in memory as one table (only when no sink was given)."""
        import pyarrow as pa

        self.flush()
        return pa.Table.from_batches(self.batches, schema=arrow_schema())


def _in_time_order(arr: np.ndarray) -> np.ndarray:
    """Records with each late one (t below an earlier record's) moved after the last record at or before its t.

    Late records keep their order among themselves when their times tie.
    """
    t = arr[:, 0]
    if len(t) < 2:
        return arr
    top = np.maximum.accumulate(t)
    late = t < top
    if not late.any():
        return arr
    main = arr[~late]
    moved = arr[late]
    moved = moved[np.argsort(moved[:, 0], kind="stable")]
    at = np.searchsorted(main[:, 0], moved[:, 0], side="right")
    return np.insert(main, at, moved, axis=0)


assert len(COLUMNS) == 11
