"""Reading the event log for the replay: one replication's rows as Python lists, in ``seq`` order.

``EventColumns`` turns an Arrow event table (or an ``EventLog``, or a Parquet part path, via
``event_columns``) into plain lists that the fold and the lineage index walk row by row;
``Row`` is one row as Python values. Requirements are named by ``requirement_namer``: their
id in the scenario, or ``#<ref>`` without one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from results.replay.state import ReplayError
from sim.events import KIND_CODE

if TYPE_CHECKING:
    import pyarrow as pa

    from scenarios.schema import Scenario

__all__ = ["EventColumns", "Row", "as_table", "event_columns", "requirement_namer"]


@dataclass(frozen=True)
class Row:
    """One row of the log, as Python values (``None`` for nulls)."""

    seq: int
    t: float
    kind: str
    lot: int
    item: str | None
    qty: int | None
    node: str | None
    link: str | None
    vehicle: int
    ref: int
    value: float | None


class EventColumns:
    """The event table as Python lists, in ``seq`` order (nulls: ``None``; ``qty`` 0).

    Raises:
        ReplayError: the table mixes replications, has a non-finite ``t`` or an unknown kind.
    """

    def __init__(self, table: pa.Table) -> None:
        import numpy as np
        import pyarrow as pa

        for extra in ("strategy", "replication"):
            if extra in table.column_names and table.num_rows and len(table.column(extra).unique()) > 1:
                raise ReplayError(f"the table holds several values of {extra!r}: replay one replication at a time")
        if table.num_rows > 1:
            seq = np.asarray(table.column("seq").to_numpy(), dtype=np.int64)
            if np.any(np.diff(seq) <= 0):
                table = table.take(pa.array(np.argsort(seq, kind="stable")))

        def ints(name: str, fill: int) -> list[int]:
            return np.asarray(table.column(name).fill_null(fill).to_numpy(), dtype=np.int64).tolist()

        def strings(name: str) -> list[str | None]:
            parts: list[Any] = []
            for chunk in table.column(name).chunks:
                if not pa.types.is_dictionary(chunk.type):
                    chunk = chunk.dictionary_encode()
                names = np.array([*chunk.dictionary.to_pylist(), None], dtype=object)
                idx = np.asarray(chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
                parts.append(names[idx])
            return np.concatenate(parts).tolist() if parts else []

        self.seq = ints("seq", -1)
        t = np.asarray(table.column("t").fill_null(math.nan).to_numpy(), dtype=np.float64)
        if not np.all(np.isfinite(t)):  # a missing t would make every bisect wrong
            bad = int(np.flatnonzero(~np.isfinite(t))[0])
            raise ReplayError(f"row {self.seq[bad]}: t is not a finite number")
        self.t: list[float] = t.tolist()
        self.kind_names: list[str] = strings("kind")  # type: ignore[assignment]
        try:
            self.kind = [KIND_CODE[k] for k in self.kind_names]
        except KeyError as exc:
            raise ReplayError(f"unknown event kind {exc.args[0]!r} in the log") from None
        self.lot = ints("lot", -1)
        self.item = strings("item")
        self.qty = ints("qty", 0)  # 0 = null: the log never carries a zero quantity
        self.node = strings("node")
        self.link = strings("link")
        self.vehicle = ints("vehicle", -1)
        self.ref = ints("ref", -1)
        value = np.asarray(table.column("value").fill_null(math.nan).to_numpy(), dtype=np.float64).tolist()
        self.value: list[float | None] = [None if v != v else v for v in value]
        self.n = len(self.t)

    def row(self, i: int) -> Row:
        """Row ``i`` (in ``seq`` order) as Python values."""
        return Row(
            self.seq[i],
            self.t[i],
            self.kind_names[i],
            self.lot[i],
            self.item[i],
            self.qty[i] or None,
            self.node[i],
            self.link[i],
            self.vehicle[i],
            self.ref[i],
            self.value[i],
        )


def as_table(log: Any) -> pa.Table:
    """An event table from a ``pyarrow.Table``, an ``EventLog`` (its ``table()``) or a Parquet path."""
    import pyarrow as pa

    if isinstance(log, pa.Table):
        return log
    if isinstance(log, (str, Path)):
        import pyarrow.parquet as pq

        try:
            return pq.read_table(log)
        except (OSError, pa.ArrowException) as exc:
            raise ReplayError(f"{log}: cannot read the event log: {exc}") from None
    table = getattr(log, "table", None)
    if callable(table):
        return table()
    raise ReplayError(f"not an event log: {type(log).__name__}")


def event_columns(log: Any) -> EventColumns:
    """``log`` as ``EventColumns`` (read once; an ``EventColumns`` is returned as it is)."""
    return log if isinstance(log, EventColumns) else EventColumns(as_table(log))


def requirement_namer(scenario: Scenario | None) -> Any:
    """ref -> requirement id in ``scenario`` (``#<ref>`` when unknown or without a scenario)."""
    ids = [r.id for r in scenario.requirements] if scenario is not None else []

    def name(ref: int) -> str:
        return ids[ref] if 0 <= ref < len(ids) else f"#{ref}"

    return name
