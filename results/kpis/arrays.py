"""Event tables (or record batches of them) as numpy columns with stable codes.

``event_arrays`` turns an event table of ``sim.log.arrow_schema`` into ``EventArrays``: one
numpy array per column, item, node and link names as integer codes. The codes come from
``CodePool`` objects, so batches of one part read one after another (``results.store
.iter_event_batches``) keep the same code for the same name: with a scenario, its items,
nodes and links are codes ``0..`` in the scenario's order; a name the scenario does not
know gets the next free code when first seen.

Example:
    >>> import pyarrow as pa
    >>> pools = CodePool(["a"]), CodePool(), CodePool()
    >>> pools[0].encode(pa.array(["b", None, "a"]).dictionary_encode()).tolist()
    [1, -1, 0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from scenarios.schema import Scenario
from sim.events import KIND_CODE

__all__ = ["NO_CODE", "CodePool", "EventArrays", "concat_arrays", "event_arrays", "names_array", "slice_arrays"]

NO_CODE = -1
"""Code of a null item, node or link."""


@dataclass(frozen=True)
class EventArrays:
    """The event table as numpy columns (nulls: -1 codes, 0 qty, NaN value).

    ``item``, ``node`` and ``link`` are codes into ``items``, ``nodes`` and ``links``; ``kind``
    holds ``sim.events`` kind codes.
    """

    t: np.ndarray
    kind: np.ndarray
    lot: np.ndarray
    item: np.ndarray
    qty: np.ndarray
    node: np.ndarray
    link: np.ndarray
    vehicle: np.ndarray
    ref: np.ndarray
    value: np.ndarray
    items: list[str]
    nodes: list[str]
    links: list[str]

    def __len__(self) -> int:
        return len(self.t)

    def of(self, kind: int) -> np.ndarray:
        """Row positions of one kind."""
        return np.flatnonzero(self.kind == kind)


_COLUMNS = ("t", "kind", "lot", "item", "qty", "node", "link", "vehicle", "ref", "value")


class CodePool:
    """Names -> integer codes that never change once given (``seed`` names get ``0..`` first).

    Args:
        seed: Names to code first, in order (duplicates keep their first code).
    """

    def __init__(self, seed: Sequence[str] = ()) -> None:
        self.names: list[str] = []
        self._pos: dict[str, int] = {}
        for s in seed:
            self.code(s)

    def code(self, name: str) -> int:
        """The code of ``name`` (a new one if unseen)."""
        c = self._pos.get(name)
        if c is None:
            c = self._pos[name] = len(self.names)
            self.names.append(name)
        return c

    def encode(self, col: Any) -> np.ndarray:
        """Codes (int64, -1 for null) of a string or dictionary column (array or chunked array)."""
        chunks = list(col.chunks) if isinstance(col, pa.ChunkedArray) else [col]
        parts: list[np.ndarray] = []
        for chunk in chunks:
            if pa.types.is_dictionary(chunk.type):
                dictionary, indices = chunk.dictionary, chunk.indices
            else:
                enc = chunk.dictionary_encode()
                dictionary, indices = enc.dictionary, enc.indices
            m = np.array([*(self.code(s) for s in dictionary.to_pylist()), NO_CODE], dtype=np.int64)
            idx = filled(indices, NO_CODE, np.int64)
            parts.append(m[idx])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


_NUMPY_TYPES: dict[Any, Any] = {
    pa.int8(): np.int8,
    pa.int16(): np.int16,
    pa.int32(): np.int32,
    pa.int64(): np.int64,
    pa.float32(): np.float32,
    pa.float64(): np.float64,
}


def filled(arr: Any, fill: float | int, dtype: Any) -> np.ndarray:
    """A primitive Arrow array as numpy ``dtype``, nulls replaced by ``fill``.

    Read from the array's buffers with numpy: ``Array.fill_null`` would import
    ``pyarrow.compute``, about 0.1 s of every command's start-up (issue 19).

    Example:
        >>> filled(pa.array([1, None, 3]), -1, np.int64).tolist()
        [1, -1, 3]
    """
    n = len(arr)
    if arr.null_count == 0:
        return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=dtype)
    np_type = _NUMPY_TYPES.get(arr.type)
    if np_type is None:  # not a primitive type read here: let Arrow do it
        return np.asarray(arr.fill_null(fill).to_numpy(zero_copy_only=False), dtype=dtype)
    validity, data = arr.buffers()[:2]
    values = np.frombuffer(data, dtype=np_type, count=arr.offset + n)[arr.offset :]
    bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), count=arr.offset + n, bitorder="little")
    out = values.astype(dtype, copy=True)
    out[bits[arr.offset :] == 0] = fill
    return out


def _num(col: Any, fill: float | int, dtype: Any) -> np.ndarray:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return filled(arr, fill, dtype)


def scenario_pools(scenario: Scenario | None) -> tuple[CodePool, CodePool, CodePool]:
    """Item, node and link pools seeded with the scenario's ids (empty without one)."""
    if scenario is None:
        return CodePool(), CodePool(), CodePool()
    return (
        CodePool([i.id for i in scenario.items]),
        CodePool([n.id for n in scenario.nodes]),
        CodePool([lk.id for lk in scenario.links]),
    )


def event_arrays(
    table: pa.Table | pa.RecordBatch,
    scenario: Scenario | None = None,
    pools: tuple[CodePool, CodePool, CodePool] | None = None,
) -> EventArrays:
    """Numpy columns of an event table (or one record batch of it), in ``seq`` order.

    With ``scenario`` the item, node and link codes are the scenario's list positions (names
    the scenario does not know get codes after them). With ``pools`` (item, node, link) the
    codes come from those pools, which grow with new names: pass the same pools for every
    batch of one part so codes agree across batches (``scenario`` is then ignored).

    Raises:
        ValueError: the table holds several replications (a ``replication`` or ``strategy``
            column with more than one value), or an unknown kind.
    """
    for extra in ("strategy", "replication"):
        if extra in table.column_names and table.num_rows and len(table.column(extra).unique()) > 1:
            raise ValueError(f"the table holds several values of {extra!r}: filter one replication first")
    if "seq" in table.column_names and table.num_rows > 1:
        seq = _num(table.column("seq"), 0, np.int64)
        if np.any(np.diff(seq) <= 0):
            table = table.take(pa.array(np.argsort(seq, kind="stable")))
    kinds = CodePool()
    kind_codes = kinds.encode(table.column("kind"))
    try:
        kind_map = np.array([KIND_CODE[k] for k in kinds.names] + [NO_CODE], dtype=np.int64)
    except KeyError as exc:
        raise ValueError(f"unknown event kind {exc.args[0]!r}") from None
    items, nodes, links = pools if pools is not None else scenario_pools(scenario)
    item = items.encode(table.column("item"))
    node = nodes.encode(table.column("node"))
    link = links.encode(table.column("link"))
    return EventArrays(
        t=_num(table.column("t"), math.nan, np.float64),
        kind=kind_map[kind_codes],
        lot=_num(table.column("lot"), -1, np.int64),
        item=item,
        qty=_num(table.column("qty"), 0, np.int64),
        node=node,
        link=link,
        vehicle=_num(table.column("vehicle"), -1, np.int64),
        ref=_num(table.column("ref"), -1, np.int64),
        value=_num(table.column("value"), math.nan, np.float64),
        items=list(items.names),
        nodes=list(nodes.names),
        links=list(links.names),
    )


def slice_arrays(ev: EventArrays, start: int, stop: int) -> EventArrays:
    """Rows ``start:stop`` of ``ev`` (views, same name lists)."""
    cols = {c: getattr(ev, c)[start:stop] for c in _COLUMNS}
    return EventArrays(**cols, items=ev.items, nodes=ev.nodes, links=ev.links)


def concat_arrays(first: EventArrays, second: EventArrays) -> EventArrays:
    """``first``'s rows then ``second``'s; codes must come from the same pools (``second``'s names are kept)."""
    if len(first) == 0:
        return second
    cols = {c: np.concatenate([getattr(first, c), getattr(second, c)]) for c in _COLUMNS}
    return EventArrays(**cols, items=second.items, nodes=second.nodes, links=second.links)


def names_array(codes: np.ndarray, pool: list[str]) -> pa.Array:
    """Codes -> a string array (code -1 -> null)."""
    idx = pa.array(np.asarray(codes, dtype=np.int32), mask=np.asarray(codes) < 0)
    return pa.DictionaryArray.from_arrays(idx, pa.array(pool, type=pa.string())).cast(pa.string())
