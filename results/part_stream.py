"""One replication's event log, read chunk by chunk: numpy chunks, whole instants, step averages.

The report and the bottleneck analysis read an event part (``results.store``) a chunk of rows
at a time so memory stays bounded by the chunk, not by the run. ``part_chunks`` turns the
part's record batches (only the columns asked for) into :class:`results.kpis.EventArrays`
chunks whose item, node and link codes agree across chunks (the scenario's list positions
first, names it does not know after them, as ``event_arrays`` gives them) and never cuts an
instant in two: the rows at a chunk's last time are held back into the next chunk, so every
chunk holds whole instants. ``table_chunks`` does the same for a table in memory.

The log's rows are in time order (``sim.log``: ``t`` non-decreasing in ``seq`` order); a
chunk where time goes back raises ``ValueError``, since everything fed by chunks relies on it.

:class:`StepAverage` is ``step_average`` fed by chunks: the same bits,
since the running integral is carried and summed in the same order.

Example:
    >>> import numpy as np
    >>> sa = StepAverage(1, np.array([0.0, 2.0, 4.0]))
    >>> sa.add(np.array([0]), np.array([1.0]), np.array([1.0]))
    >>> sa.add(np.array([0]), np.array([3.0]), np.array([-1.0]))
    >>> sa.result()
    array([[0.5, 0.5]])
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from results.kpis import EventArrays
from scenarios.schema import Scenario
from sim.events import KIND_CODE

__all__ = ["CHUNK_ROWS", "StepAverage", "last_time", "part_batches", "part_chunks", "step_average", "table_chunks"]

CHUNK_ROWS = 1 << 17
"""Rows read at a time (a few tens of MB of numpy columns)."""

_CODED = ("item", "node", "link")
_NUMERIC: dict[str, tuple[float | int, Any]] = {
    "t": (math.nan, np.float64),
    "lot": (-1, np.int64),
    "qty": (0, np.int64),
    "vehicle": (-1, np.int64),
    "ref": (-1, np.int64),
    "value": (math.nan, np.float64),
}
ALL_COLUMNS: tuple[str, ...] = ("t", "kind", "lot", "item", "qty", "node", "link", "vehicle", "ref", "value")


def part_batches(
    run_dir: str | Path, strategy: str, rep: int, columns: Sequence[str] | None = None, batch_rows: int = CHUNK_ROWS
) -> Iterator[pa.RecordBatch]:
    """Record batches of one part, in ``seq`` order, only ``columns`` (all by default).

    Row groups are read one at a time (``results.store.iter_event_batches`` where the store
    has it), handed out in batches of at most ``batch_rows`` rows.

    Raises:
        results.store.StoreError: no such part, or it cannot be read.
    """
    import pyarrow.parquet as pq

    import results.store as store
    from results.store.layout import EVENTS_DIR, StoreError

    pool = pa.default_memory_pool()
    by_group = getattr(store, "iter_event_batches", None)
    if by_group is not None:
        for group in by_group(run_dir, strategy, rep, columns):
            for off in range(0, group.num_rows, batch_rows):
                yield group.slice(off, batch_rows)
            del group
            pool.release_unused()  # the row group's pages go back to the system, not to a growing pool
        return
    path = Path(run_dir) / EVENTS_DIR / f"strategy={strategy}" / f"rep={rep}.parquet"
    if not path.is_file():
        raise StoreError(f"{run_dir}: no event part matches strategy={strategy} rep={rep}")
    try:
        f = pq.ParquetFile(path, pre_buffer=False)
        cols = list(columns) if columns else None
        for g in range(f.metadata.num_row_groups):  # one row group decoded at a time, no read-ahead
            for batch in f.iter_batches(batch_size=batch_rows, row_groups=[g], columns=cols, use_threads=False):
                yield batch
                del batch
            pool.release_unused()  # the row group's pages go back to the system, not to a growing pool
    except (OSError, pa.ArrowException) as exc:
        raise StoreError(f"{path}: cannot read event part: {exc}") from None


def last_time(run_dir: str | Path, strategy: str, rep: int) -> float:
    """The part's last ``t`` (0 for an empty part), from the last row group read alone."""
    import pyarrow.parquet as pq

    from results.store.layout import EVENTS_DIR, StoreError

    path = Path(run_dir) / EVENTS_DIR / f"strategy={strategy}" / f"rep={rep}.parquet"
    try:
        f = pq.ParquetFile(path)
        for g in range(f.metadata.num_row_groups - 1, -1, -1):
            t = f.read_row_group(g, columns=["t"]).column("t").drop_null()
            if len(t):
                return float(t[len(t) - 1].as_py())
    except (OSError, pa.ArrowException) as exc:
        raise StoreError(f"{path}: cannot read event part: {exc}") from None
    return 0.0


class _Pool:
    """Names -> stable codes (seed names first), like ``results.kpis.event_arrays`` gives them."""

    def __init__(self, seed: Iterable[str]) -> None:
        self.names: list[str] = []
        self.pos: dict[str, int] = {}
        for s in seed:
            if s not in self.pos:
                self.pos[s] = len(self.names)
                self.names.append(s)

    def encode(self, col: Any) -> np.ndarray:
        chunk = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        if pa.types.is_dictionary(chunk.type):
            dictionary, indices = chunk.dictionary, chunk.indices
        else:
            enc = chunk.dictionary_encode()
            dictionary, indices = enc.dictionary, enc.indices
        mapping = []
        for s in dictionary.to_pylist():
            if s not in self.pos:
                self.pos[s] = len(self.names)
                self.names.append(s)
            mapping.append(self.pos[s])
        m = np.array([*mapping, -1], dtype=np.int64)
        return m[np.asarray(indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)]


def _kind_codes(col: Any) -> np.ndarray:
    pool = _Pool(())
    codes = pool.encode(col)
    try:
        m = np.array([KIND_CODE[k] for k in pool.names] + [-1], dtype=np.int64)
    except KeyError as exc:
        raise ValueError(f"unknown event kind {exc.args[0]!r}") from None
    return m[codes]


def _cut(ev: EventArrays, lo: int, hi: int) -> EventArrays:
    cols = {c: getattr(ev, c)[lo:hi] for c in ALL_COLUMNS}
    return EventArrays(**cols, items=ev.items, nodes=ev.nodes, links=ev.links)


def _join(a: EventArrays, b: EventArrays) -> EventArrays:
    if len(a) == 0:
        return b
    cols = {c: np.concatenate([getattr(a, c), getattr(b, c)]) for c in ALL_COLUMNS}
    return EventArrays(**cols, items=b.items, nodes=b.nodes, links=b.links)


def _chunks(batches: Iterable[Any], scenario: Scenario) -> Iterator[EventArrays]:
    """Batches -> EventArrays of whole instants (missing columns: their null values)."""
    pools = {
        "item": _Pool(i.id for i in scenario.items),
        "node": _Pool(n.id for n in scenario.nodes),
        "link": _Pool(lk.id for lk in scenario.links),
    }
    held: EventArrays | None = None
    last_t = -math.inf
    for b in batches:
        n = b.num_rows
        if n == 0:
            continue
        names = set(b.schema.names)
        cols: dict[str, np.ndarray] = {}
        for c, (fill, dtype) in _NUMERIC.items():
            if c in names:
                cols[c] = np.asarray(b.column(c).fill_null(fill).to_numpy(zero_copy_only=False), dtype=dtype)
            else:
                cols[c] = np.full(n, fill, dtype=dtype)
        cols["kind"] = _kind_codes(b.column("kind")) if "kind" in names else np.full(n, -1, dtype=np.int64)
        for c in _CODED:
            cols[c] = pools[c].encode(b.column(c)) if c in names else np.full(n, -1, dtype=np.int64)
        t = cols["t"]
        if t[0] < last_t or np.any(t[1:] < t[:-1]):
            raise ValueError("event rows are not in time order: cannot read the part chunk by chunk")
        last_t = float(t[-1])
        ev = EventArrays(
            **cols, items=list(pools["item"].names), nodes=list(pools["node"].names), links=list(pools["link"].names)
        )
        if held is not None:
            ev = _join(held, ev)
        cut = int(np.searchsorted(ev.t, ev.t[-1], side="left"))  # the last instant waits for the next chunk
        held = _cut(ev, cut, len(ev))
        if cut > 0:
            yield _cut(ev, 0, cut)
    if held is not None and len(held):
        yield held


def part_chunks(
    run_dir: str | Path,
    strategy: str,
    rep: int,
    scenario: Scenario,
    columns: Sequence[str] | None = None,
    batch_rows: int = CHUNK_ROWS,
) -> Iterator[EventArrays]:
    """One part as EventArrays chunks of whole instants (see the module docstring).

    ``columns`` (``t`` and ``kind`` always included) limits what is read; the others hold
    their null values (-1 codes, 0 qty, NaN value).
    """
    cols = None if columns is None else list(dict.fromkeys(["t", "kind", *columns]))
    return _chunks(part_batches(run_dir, strategy, rep, cols, batch_rows), scenario)


def table_chunks(table: pa.Table, scenario: Scenario, batch_rows: int = CHUNK_ROWS) -> Iterator[EventArrays]:
    """An event table in memory as EventArrays chunks of whole instants (rows sorted by ``seq``)."""
    if "seq" in table.column_names and table.num_rows > 1:
        seq = np.asarray(table.column("seq").fill_null(0).to_numpy(), dtype=np.int64)
        if np.any(np.diff(seq) <= 0):
            table = table.take(pa.array(np.argsort(seq, kind="stable")))
    return _chunks(table.to_batches(max_chunksize=batch_rows), scenario)


def step_average(t: np.ndarray, delta: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Time-average of a step function over each bin ``[edges[i], edges[i+1])``.

    The level starts at 0 and changes by ``delta`` at ``t`` (any order; changes at one instant
    add up). Returns one average per bin (0 for an empty bin).
    """
    edges = np.asarray(edges, dtype=np.float64)
    if len(edges) < 2:
        return np.zeros(0)
    width = np.diff(edges)
    if len(t) == 0:
        return np.zeros(len(width))
    order = np.argsort(t, kind="stable")
    tt = np.asarray(t, dtype=np.float64)[order]
    level = np.cumsum(np.asarray(delta, dtype=np.float64)[order])
    at = np.r_[0.0, np.cumsum(level[:-1] * np.diff(tt))]  # integral from 0 up to each change
    k = np.searchsorted(tt, edges, side="right") - 1
    kk = np.maximum(k, 0)
    integral = np.where(k >= 0, at[kk] + level[kk] * (edges - tt[kk]), 0.0)
    out = np.zeros(len(width))
    np.divide(np.diff(integral), width, out=out, where=width > 0)
    return out


class StepAverage:
    """``step_average`` of several step functions over the same bins, fed chunk by chunk.

    Each group's level starts at 0 and changes by ``delta`` at ``t``; ``add`` takes rows of
    whole instants, later than the rows of the previous ``add`` (in any order). ``result`` gives one row of
    bin averages per group, equal bit for bit to ``step_average`` of all
    the group's rows at once.

    Args:
        groups: Number of groups.
        edges: Bin edges (days).
    """

    def __init__(self, groups: int, edges: np.ndarray) -> None:
        self.edges = np.asarray(edges, dtype=np.float64)
        self.n = groups
        self.t = np.full(groups, math.nan)  # time of the last change (NaN: none yet)
        self.level = np.zeros(groups)
        self.at = np.zeros(groups)  # integral from 0 up to the last change
        self.done = np.zeros(groups, dtype=np.int64)  # edges evaluated so far
        self.integral = np.zeros((groups, len(self.edges)))

    def _fill(self, g: int, tt: np.ndarray, level: np.ndarray, at: np.ndarray, upto: float) -> None:
        """Integral at the pending edges of group ``g`` strictly before ``upto`` (inf: all)."""
        e = self.edges
        lo = int(self.done[g])
        hi = int(np.searchsorted(e, upto, side="left")) if math.isfinite(upto) else len(e)
        if hi <= lo:
            return
        x = e[lo:hi]
        k = np.searchsorted(tt, x, side="right") - 1
        kk = np.maximum(k, 0)
        self.integral[g, lo:hi] = np.where(k >= 0, at[kk] + level[kk] * (x - tt[kk]), 0.0)
        self.done[g] = hi

    def add(self, group: np.ndarray, t: np.ndarray, delta: np.ndarray) -> None:
        """Changes ``delta`` of ``group``'s level at ``t`` (whole instants, later than any fed before)."""
        if len(t) == 0:
            return
        order = np.argsort(t, kind="stable")
        group, t, delta = group[order], t[order], delta[order]
        for g in np.unique(group).tolist():
            m = group == g
            tg, dg = t[m], np.asarray(delta[m], dtype=np.float64)
            had = not math.isnan(self.t[g])
            if had:
                tt = np.r_[self.t[g], tg]
                level = np.cumsum(np.r_[self.level[g], dg])
                at = np.cumsum(np.r_[self.at[g], level[:-1] * np.diff(tt)])
            else:
                tt = tg
                level = np.cumsum(dg)
                at = np.r_[0.0, np.cumsum(level[:-1] * np.diff(tt))]
            # edges before this chunk's last time are settled (later changes are at or after it)
            self._fill(g, tt, level, at, float(tt[-1]))
            self.t[g], self.level[g], self.at[g] = tt[-1], level[-1], at[-1]

    def result(self) -> np.ndarray:
        """Bin averages, one row per group (0 for an empty bin)."""
        width = np.diff(self.edges)
        out = np.zeros((self.n, max(len(self.edges) - 1, 0)))
        if len(self.edges) < 2:
            return out
        for g in range(self.n):
            if math.isnan(self.t[g]):
                continue
            tt, lv, at = np.array([self.t[g]]), np.array([self.level[g]]), np.array([self.at[g]])
            self._fill(g, tt, lv, at, math.inf)
            np.divide(np.diff(self.integral[g]), width, out=out[g], where=width > 0)
        return out
